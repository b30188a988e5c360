package broker.artemis.members;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Properties;

import org.apache.activemq.artemis.utils.VersionLoader;

/**
 * The one way Firehose reaches members of Artemis that are not public: each is found by name and type, and one that is
 * not there (a later Artemis) fails with one line naming it and the row of {@code docs/artemis-changes.md} that says
 * why Firehose needs it.
 */
public final class ArtemisMembers {

    /** The Artemis version this build of Firehose was compiled and tested against. */
    public static final String BUILT_AGAINST = builtAgainst();

    private ArtemisMembers() {
    }

    /** A member of Artemis that Firehose reaches is not there as expected. */
    public static final class Mismatch extends IllegalStateException {
        Mismatch(String what, int row, Throwable cause) {
            this("Artemis " + running() + " (Firehose was built against " + BUILT_AGAINST + ") has no " + what
                    + ": see docs/artemis-changes.md row " + row, cause);
        }

        Mismatch(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The field {@code owner.name} of exactly {@code type}, made accessible. */
    public static Field field(Class<?> owner, String name, Class<?> type, int row) {
        try {
            Field field = owner.getDeclaredField(name);
            if (field.getType() != type) {
                throw new NoSuchFieldException(name + " is a " + field.getType().getName());
            }
            field.setAccessible(true);
            return field;
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new Mismatch("field " + owner.getSimpleName() + "." + name + " of type " + type.getSimpleName(), row, e);
        }
    }

    /** The constructor of {@code owner} taking {@code parameters}, made accessible. */
    public static <T> Constructor<T> constructor(Class<T> owner, int row, Class<?>... parameters) {
        try {
            Constructor<T> constructor = owner.getDeclaredConstructor(parameters);
            constructor.setAccessible(true);
            return constructor;
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new Mismatch("constructor " + owner.getSimpleName() + signature(parameters), row, e);
        }
    }

    /**
     * Checks that {@code subclass} overrides Artemis' package-private method {@code name}: the superclass declares it,
     * neither private nor static, with the same parameters and return type, and both classes are in one runtime package
     * (same name, same class loader). Java has no {@code @Override} check for a package-private method: if Artemis
     * renamed it, the subclass' method would silently be a new one that nothing calls.
     */
    public static void overrides(Class<?> subclass, String name, int row, Class<?>... parameters) {
        Class<?> artemis = subclass.getSuperclass();
        String what = "package-private method " + artemis.getSimpleName() + "." + name + signature(parameters)
                + " that " + subclass.getSimpleName() + " overrides";
        try {
            Method own = subclass.getDeclaredMethod(name, parameters);
            Method overridden = artemis.getDeclaredMethod(name, parameters);
            int modifiers = overridden.getModifiers();
            if (Modifier.isPrivate(modifiers) || Modifier.isStatic(modifiers) || Modifier.isFinal(modifiers)) {
                throw new NoSuchMethodException(name + " is " + Modifier.toString(modifiers));
            }
            if (!Modifier.isPublic(modifiers) && !Modifier.isProtected(modifiers)
                    && (!artemis.getPackageName().equals(subclass.getPackageName()) || artemis.getClassLoader() != subclass.getClassLoader())) {
                throw new NoSuchMethodException(subclass.getName() + " is not in " + artemis.getName() + "'s runtime package");
            }
            if (own.getReturnType() != overridden.getReturnType()) {
                throw new NoSuchMethodException(name + " returns " + overridden.getReturnType().getName());
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new Mismatch(what, row, e);
        }
    }

    /** Fails unless the Artemis on the class path is the one this build was made against. */
    public static void requireBuiltAgainst() {
        requireSame(running(), BUILT_AGAINST);
    }

    static void requireSame(String running, String builtAgainst) {
        if (!running.equals(builtAgainst)) {
            throw new Mismatch("Artemis " + running + " is on the class path, but Firehose was built against " + builtAgainst
                    + ", whose members it reaches and changes (docs/artemis-changes.md): run it with the Artemis it was built with", null);
        }
    }

    /** The version of the Artemis on the class path. */
    public static String running() {
        return VersionLoader.getVersion().getFullVersion();
    }

    private static String signature(Class<?>... parameters) {
        StringBuilder text = new StringBuilder("(");
        for (int i = 0; i < parameters.length; i++) {
            text.append(i == 0 ? "" : ", ").append(parameters[i].getSimpleName());
        }
        return text.append(')').toString();
    }

    private static String builtAgainst() {
        Properties build = new Properties();
        try (InputStream in = ArtemisMembers.class.getResourceAsStream("/firehose-build.properties")) {
            if (in == null) {
                throw new IllegalStateException("firehose-build.properties is missing from the class path");
            }
            build.load(in);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return build.getProperty("artemis.version");
    }
}

package broker.artemis;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Each subscription's share of {@code max-queued-messages}, never more than {@code subscriber-backlog}. */
class BacklogBudgetTest {

    private final BacklogBudget budget = new BacklogBudget(10_000, 2_000_000);

    @Test
    void should_give_each_subscription_its_whole_backlog_while_the_budget_holds_them_all() {
        assertEquals(10_000, budget.share(0));
        assertEquals(10_000, budget.share(1));
        assertEquals(10_000, budget.share(200));
    }

    @Test
    void should_share_the_budget_beyond_that_and_keep_at_least_one_message() {
        assertEquals(9_950, budget.share(201));
        assertEquals(200, budget.share(10_000));
        assertEquals(100, budget.share(20_000));
        assertEquals(1, new BacklogBudget(10_000, 1_000).share(5_000));
    }
}

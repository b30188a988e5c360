// Firehose's live viewer: an anonymous MQTT-over-WebSocket subscriber (Eclipse Paho's JavaScript client), which
// first shows the events the server recorded for the filter (GET /history) when the server keeps a history.
// Everything received or fetched is shown with textContent, never parsed as HTML.
(function () {
  'use strict';

  const meta = (name) => (document.querySelector('meta[name="firehose-' + name + '"]') || {}).content || '';
  const maxEvents = parseInt(meta('max-events'), 10) || 500;
  const secure = location.protocol === 'https:' && meta('wss-port');
  const wsUrl = meta('ws-url') || (secure ? 'wss' : 'ws') + '://' + location.hostname + ':'
      + (secure ? meta('wss-port') : meta('ws-port')) + '/mqtt';
  const $ = (id) => document.getElementById(id);
  const SOURCES = { gerrit: 'src-gerrit', launchpad: 'src-launchpad', 'gearman-subunit': 'src-subunit', zuul: 'src-zuul', ansible: 'src-ansible' };
  const SCHEMAS = (() => { // what links each event to its JSON Schema: the sources' base topics, the schema files
    try {
      const given = JSON.parse(meta('schemas') || '{}');
      return { bases: given.bases || {}, files: new Set(given.files || []) };
    } catch (notJson) {
      return { bases: {}, files: new Set() };
    }
  })();
  const PAGE = Math.min(50, maxEvents); // recorded events fetched at a time
  const HISTORY_TIMEOUT = 5000; // ms: the longest wait for /history (live events are held back meanwhile)
  const LATE = 5000; // ms: how long after the answer a live event may still be a recorded event's copy; also the clock skew allowed

  let client = null;
  let filter = '#';
  let subscribed = null;
  let paused = false;
  let missed = 0;
  let pending = [];
  let flushScheduled = false;
  let thisSecond = 0;
  const perSecond = new Array(60).fill(0);
  let chart = null;
  let view = null; // the current filter's recorded events and the live events held back for them: see follow()
  let historyAbsent = false; // /history answered 404 (history turned off): live only from then on, as before history existed
  let more = false; // the last page of recorded events was full: older ones exist
  let loadingOlder = false;

  /** Whether an MQTT topic matches a topic filter ([MQTT-4.7]: $ topics only for filters that name them). */
  function matches(filterText, topic) {
    const f = filterText.split('/');
    const t = topic.split('/');
    if (topic.startsWith('$') && (f[0] === '#' || f[0] === '+')) {
      return false;
    }
    for (let i = 0; i < f.length; i++) {
      if (f[i] === '#') {
        return true;
      }
      if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) {
        return false;
      }
    }
    return f.length === t.length;
  }

  function setState(state, text) {
    const el = $('state');
    el.dataset.state = state;
    el.textContent = text || state;
  }

  function clientId() {
    const bytes = new Uint8Array(6);
    crypto.getRandomValues(bytes);
    return 'viewer-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function connect() {
    setState('connecting');
    client = new Paho.Client(wsUrl, clientId());
    client.onConnectionLost = (response) => {
      subscribed = null;
      delete document.body.dataset.subscribed;
      setState('reconnecting', 'reconnecting' + (response && response.errorMessage ? ' (' + response.errorMessage + ')' : ''));
    };
    client.onConnected = () => {
      setState('connected');
      subscribe();
      client.subscribe('$SYS/broker/#', { qos: 0 });
    };
    client.onMessageArrived = received;
    client.connect({
      cleanSession: true,
      reconnect: true,
      keepAliveInterval: 30,
      timeout: 10,
      mqttVersion: 4,
      onFailure: (response) => {
        setState('disconnected', 'disconnected' + (response && response.errorMessage ? ' (' + response.errorMessage + ')' : ''));
        setTimeout(connect, 3000);
      },
    });
  }

  function subscribe() {
    if (!client || !client.isConnected()) {
      return;
    }
    if (subscribed !== null && subscribed !== filter) {
      client.unsubscribe(subscribed);
    }
    const wanted = filter;
    client.subscribe(wanted, {
      qos: 0,
      onSuccess: () => {
        subscribed = wanted;
        document.body.dataset.subscribed = wanted;
        $('filter').setCustomValidity('');
        if (view.filter === wanted) {
          askRecorded(view);
        }
      },
      onFailure: () => { subscribed = null; $('filter').setCustomValidity('the broker refused this filter'); $('filter').reportValidity(); },
    });
    subscribed = wanted;
  }

  function received(message) {
    const topic = message.destinationName;
    if (topic.startsWith('$SYS/broker/')) {
      showSys(topic, text(message));
    }
    if (!matches(filter, topic)) {
      return; // a $SYS update, or a message of the filter we just left
    }
    thisSecond++;
    if (paused) {
      missed++;
      $('missed').textContent = '(paused: ' + missed + ' not shown)';
      return;
    }
    const event = { topic: topic, payload: text(message), at: new Date(), retained: message.retained };
    if (view.held) {
      view.held.push(event);
      if (view.held.length > maxEvents) {
        view.held.shift();
      }
    } else if (!recordedCopy(event)) {
      queue(event);
    }
  }

  function queue(event) {
    pending.push(event);
    if (pending.length > maxEvents) {
      pending = pending.slice(pending.length - maxEvents);
    }
    if (!flushScheduled) {
      flushScheduled = true;
      setTimeout(flush, 100);
    }
  }

  // Live events carry no id (the page speaks MQTT 3.1.1, which has no user properties), so a live event and its
  // recorded copy cannot be matched by id. The page subscribes first and asks /history once the broker confirmed the
  // subscription, so that nothing published after the subscription is missed; live events arriving meanwhile are held
  // back until the answer, then shown above the recorded ones. An event published in between is both recorded and
  // received live: a live event held back, or arriving up to LATE ms after the answer (the WebSocket may lag behind
  // HTTP), is dropped when a recorded event of the same topic and payload, received since the page began to follow
  // the filter (less LATE, for the server's clock), was not matched yet. The price: an identical payload sent twice to
  // one topic within those few seconds, once before and once after the subscription, is shown once.

  /** Starts following the current filter: its recorded events, with the live ones held back until they are shown. */
  function follow() {
    if (view) {
      clearTimeout(view.timer);
      if (view.controller) {
        view.controller.abort();
      }
    }
    more = false;
    loadingOlder = false;
    view = { filter: filter, since: Date.now(), held: historyAbsent ? null : [], recent: [], lateUntil: 0, asked: false, controller: null, timer: 0 };
    if (!historyAbsent) {
      const v = view;
      document.body.dataset.history = 'loading';
      v.timer = setTimeout(() => askRecorded(v), HISTORY_TIMEOUT); // the broker did not confirm in time: show what was recorded anyway
    }
    older();
  }

  function askRecorded(v) {
    if (v !== view || v.asked || historyAbsent) {
      return;
    }
    v.asked = true;
    clearTimeout(v.timer);
    recorded(v, '', PAGE).then((answer) => showRecorded(v, answer), (why) => liveOnly(v, why));
  }

  /** A page of the filter's recorded events, newest first: the latest, or those older than the event {@code before}. */
  function recorded(v, before, limit) {
    const controller = new AbortController();
    v.controller = controller;
    const timer = setTimeout(() => controller.abort(), HISTORY_TIMEOUT);
    const url = '/history?topic=' + encodeURIComponent(v.filter) + '&limit=' + limit + (before ? '&before=' + encodeURIComponent(before) : '');
    return fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store', signal: controller.signal })
      .then((response) => {
        if (!response.ok) {
          throw Object.assign(new Error('HTTP ' + response.status), { status: response.status });
        }
        return response.json();
      })
      .then((answer) => {
        if (!answer || !Array.isArray(answer.events)) {
          throw new Error('not a page of events');
        }
        answer.events = answer.events.filter((e) => e && typeof e.topic === 'string' && e.id !== undefined);
        return answer;
      })
      .finally(() => clearTimeout(timer));
  }

  /** The first page of recorded events replaces the list; the live events held back go on top of it. */
  function showRecorded(v, answer) {
    if (v !== view) {
      return;
    }
    pending = [];
    $('events').replaceChildren(...answer.events.slice(0, maxEvents).map((e) => row(recordedEvent(e))));
    v.recent = answer.events.filter((e) => Date.parse(e.received) >= v.since - LATE).map((e) => key(e.topic, e.payload));
    v.lateUntil = Date.now() + LATE;
    more = Boolean(answer.next);
    note('');
    document.body.dataset.historyFilter = v.filter;
    document.body.dataset.history = 'shown';
    release(v);
  }

  /** No recorded events (404: the server keeps none; else it failed): the page goes on live only, as before. */
  function liveOnly(v, why) {
    if (v !== view) {
      return;
    }
    historyAbsent = historyAbsent || (why && why.status === 404);
    more = false;
    note(historyAbsent ? 'live only: this server keeps no history' : 'live only: recorded events unavailable');
    document.body.dataset.history = historyAbsent ? 'absent' : 'failed';
    release(v);
  }

  function release(v) {
    const held = v.held || [];
    v.held = null;
    held.filter((event) => !recordedCopy(event)).forEach(queue);
    flush();
  }

  /** Whether a live event is the copy of a recorded event already shown (see the comment above follow()). */
  function recordedCopy(event) {
    if (view.recent.length === 0 || Date.now() > view.lateUntil) {
      return false;
    }
    let value = event.payload;
    try {
      value = JSON.parse(event.payload);
    } catch (notJson) {
      // recorded as its text
    }
    const at = view.recent.indexOf(key(event.topic, value));
    if (at < 0) {
      return false;
    }
    view.recent.splice(at, 1);
    return true;
  }

  /** What a live event and its recorded copy have in common: the topic and the payload (its JSON value when JSON). */
  function key(topic, value) {
    return topic + '\u0000' + JSON.stringify(value);
  }

  /** A recorded event as a row shows it: its payload as text (JSON as compact JSON), its time the server's. */
  function recordedEvent(e) {
    const payload = typeof e.payload === 'string' ? e.payload : JSON.stringify(e.payload);
    const at = new Date(e.received);
    return { id: String(e.id), topic: e.topic, payload: payload === undefined ? '' : payload, at: isNaN(at) ? new Date() : at, recorded: true };
  }

  /** "Load older": the page of recorded events before the oldest one shown, appended below it. */
  function loadOlder() {
    const v = view;
    const list = $('events');
    const earlier = list.querySelectorAll('li.earlier');
    const room = maxEvents - list.children.length;
    if (loadingOlder || earlier.length === 0 || room <= 0) {
      return;
    }
    loadingOlder = true;
    older();
    recorded(v, earlier[earlier.length - 1].dataset.id, Math.min(PAGE, room)).then((answer) => {
      if (v !== view) {
        return;
      }
      const present = new Set(Array.from(list.querySelectorAll('li[data-id]'), (item) => item.dataset.id));
      list.append(...answer.events.filter((e) => !present.has(String(e.id))).map((e) => row(recordedEvent(e))));
      more = Boolean(answer.next);
      while (list.children.length > maxEvents) { // live events came meanwhile: the list stays bounded
        list.removeChild(list.lastChild);
        more = true;
      }
      note('');
    }, () => {
      if (v === view) {
        note('could not load older events');
      }
    }).finally(() => {
      if (v === view) {
        loadingOlder = false;
        shown();
      }
    });
  }

  /** The "Load older" button: there while older recorded events exist, disabled while the list is full. */
  function older() {
    const list = $('events');
    const button = $('older');
    const full = list.children.length >= maxEvents;
    button.hidden = !more || list.querySelector('li.earlier') === null;
    button.disabled = loadingOlder || full;
    button.title = full ? 'the page keeps at most ' + maxEvents + ' events' : '';
  }

  function note(text) {
    $('history-note').textContent = text;
  }

  function text(message) {
    try {
      return message.payloadString;
    } catch (notUtf8) {
      return Array.from(message.payloadBytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
    }
  }

  function showSys(topic, value) {
    const ids = {
      '$SYS/broker/clients/connected': 'sys-clients', '$SYS/broker/uptime': 'sys-uptime',
      '$SYS/broker/messages/received': 'sys-received', '$SYS/broker/messages/sent': 'sys-sent',
    };
    if (ids[topic]) {
      $(ids[topic]).textContent = value;
    }
  }

  function flush() {
    flushScheduled = false;
    const list = $('events');
    const rows = document.createDocumentFragment();
    for (let i = pending.length - 1; i >= 0; i--) {
      rows.appendChild(row(pending[i]));
    }
    pending = [];
    list.insertBefore(rows, list.firstChild);
    while (list.children.length > maxEvents) {
      list.removeChild(list.lastChild);
    }
    shown();
  }

  function shown() {
    const count = $('events').children.length;
    $('shown').textContent = count === 0 ? '' : count + ' shown (at most ' + maxEvents + ')';
    older();
  }

  function row(event) {
    const item = document.createElement('li');
    item.className = 'event ' + (SOURCES[event.topic.split('/')[0]] || 'src-other');
    const head = document.createElement('div');
    head.className = 'head';
    const time = document.createElement('time');
    time.dateTime = event.at.toISOString();
    time.textContent = (event.recorded && event.at.toDateString() !== new Date().toDateString() ? day(event.at) + ' ' : '')
        + event.at.toTimeString().slice(0, 8) + '.' + String(event.at.getMilliseconds()).padStart(3, '0');
    const topic = document.createElement('span');
    topic.className = 'topic';
    topic.textContent = event.topic + (event.retained ? '  (retained)' : '');
    head.append(time, ' ', topic);
    if (event.recorded) {
      item.classList.add('earlier');
      item.dataset.id = event.id;
      const label = document.createElement('span');
      label.className = 'label';
      label.textContent = 'recorded';
      head.append(' ', label);
    }
    const body = document.createElement('details');
    body.open = true;
    const summary = document.createElement('summary');
    const pre = document.createElement('pre');
    let pretty = event.payload;
    body.className = 'text';
    try {
      const parsed = JSON.parse(event.payload);
      if (parsed !== null && typeof parsed === 'object') {
        pretty = JSON.stringify(parsed, null, 2);
        body.className = 'json';
      }
    } catch (notJson) {
      // shown as the text it is
    }
    const schema = schemaOf(event.topic, body.className === 'json' ? JSON.parse(event.payload) : null);
    if (schema) {
      const link = document.createElement('a');
      link.className = 'schema';
      link.href = '/schemas/' + schema;
      link.target = '_blank';
      link.rel = 'noopener';
      link.textContent = 'schema';
      head.append(' ', link);
    }
    const kind = document.createElement('span');
    kind.className = 'kind';
    kind.textContent = (body.className === 'json' ? 'JSON' : 'text') + ', ' + event.payload.length + ' chars';
    const preview = document.createElement('span');
    preview.className = 'preview';
    preview.textContent = ' ' + (event.payload.length > 100 ? event.payload.slice(0, 100) + '…' : event.payload);
    summary.append(kind, preview);
    pre.textContent = pretty;
    body.append(summary, pre);
    item.append(head, body);
    return item;
  }

  /** The schema file under /schemas/ of an event on {@code topic} with this parsed payload (or null), or null. */
  function schemaOf(topic, parsed) {
    const has = (file) => SCHEMAS.files.has(file) ? file : null;
    if (topic.startsWith('$SYS/broker/')) {
      return has('sys/' + topic.slice('$SYS/broker/'.length) + '.json');
    }
    for (const [source, bases] of Object.entries(SCHEMAS.bases)) {
      if (!bases.some((base) => topic.startsWith(base + '/') || topic === base)) {
        continue;
      }
      switch (source) {
        case 'gerrit': // <base>/<project>/<event type>: the type is the last level
          return has('gerrit/' + topic.slice(topic.lastIndexOf('/') + 1) + '.json') || has('gerrit/event.json');
        case 'launchpad':
          // as the bus checks it: a bug notification has an event-type, any other notification none
          return has(parsed && Object.prototype.hasOwnProperty.call(parsed, 'event-type') ? 'launchpad/bug.json' : 'launchpad/notification.json');
        case 'subunit':
          return has('subunit/result.json');
        default:
          return has(source + '/event.json');
      }
    }
    return null;
  }

  function day(at) {
    return at.getFullYear() + '-' + String(at.getMonth() + 1).padStart(2, '0') + '-' + String(at.getDate()).padStart(2, '0');
  }

  function tick() {
    perSecond.shift();
    perSecond.push(thisSecond);
    $('rate').textContent = String(thisSecond);
    thisSecond = 0;
    if (chart) {
      chart.setData([perSecond.map((_, i) => i - 59), perSecond]);
    }
  }

  function commands() {
    const host = location.hostname;
    const quoted = "'" + filter.replace(/'/g, "'\\''") + "'";
    $('cmd-mosquitto').textContent = 'mosquitto_sub -h ' + host + ' -p ' + meta('mqtt-port') + ' -t ' + quoted + ' -v';
    $('cmd-python').textContent = [
      'import paho.mqtt.client as mqtt',
      '',
      'def on_message(client, userdata, msg):',
      '    print(msg.topic, msg.payload.decode("utf-8", "replace"))',
      '',
      'client = mqtt.Client()  # paho-mqtt 2.x: mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)',
      'client.on_message = on_message',
      'client.connect(' + JSON.stringify(host) + ', ' + meta('mqtt-port') + ')',
      'client.subscribe(' + JSON.stringify(filter) + ')',
      'client.loop_forever()',
    ].join('\n');
  }

  function copy(button) {
    const source = $(button.dataset.copy);
    const done = () => { button.textContent = 'Copied'; setTimeout(() => { button.textContent = 'Copy'; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.textContent).then(done);
      return;
    }
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    if (document.execCommand('copy')) {
      done();
    }
  }

  function chartWidth() {
    return Math.max(200, Math.min(600, $('rate-box').clientWidth - 20));
  }

  function start() {
    $('endpoint').textContent = wsUrl;
    $('filter-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const wanted = $('filter').value.trim() || '#';
      if (wanted !== filter) {
        filter = wanted;
        commands();
        follow();
        subscribe();
      }
    });
    $('pause').addEventListener('click', () => {
      paused = !paused;
      $('pause').textContent = paused ? 'Resume' : 'Pause';
      $('pause').setAttribute('aria-pressed', String(paused));
      if (!paused) {
        missed = 0;
        $('missed').textContent = '';
      }
    });
    $('clear').addEventListener('click', () => {
      pending = [];
      $('events').replaceChildren();
      shown();
    });
    $('older').addEventListener('click', loadOlder);
    document.querySelectorAll('button.copy').forEach((b) => b.addEventListener('click', () => copy(b)));
    if (window.uPlot) {
      chart = new uPlot({
        width: chartWidth(), height: 70, legend: { show: false }, cursor: { show: false },
        scales: { x: { time: false } },
        axes: [{ show: false }, { size: 40 }],
        series: [{}, { stroke: '#2a6fdb', fill: 'rgba(42,111,219,0.15)', width: 1 }],
      }, [perSecond.map((_, i) => i - 59), perSecond], $('chart'));
      window.addEventListener('resize', () => chart.setSize({ width: chartWidth(), height: 70 }));
    }
    commands();
    setInterval(tick, 1000);
    follow();
    connect();
  }

  start();
}());

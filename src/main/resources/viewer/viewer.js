// Firehose's live viewer: an anonymous MQTT-over-WebSocket subscriber (Eclipse Paho's JavaScript client).
// Everything received is shown with textContent, never parsed as HTML.
(function () {
  'use strict';

  const meta = (name) => (document.querySelector('meta[name="firehose-' + name + '"]') || {}).content || '';
  const maxEvents = parseInt(meta('max-events'), 10) || 500;
  const secure = location.protocol === 'https:' && meta('wss-port');
  const wsUrl = meta('ws-url') || (secure ? 'wss' : 'ws') + '://' + location.hostname + ':'
      + (secure ? meta('wss-port') : meta('ws-port')) + '/mqtt';
  const $ = (id) => document.getElementById(id);
  const SOURCES = { gerrit: 'src-gerrit', launchpad: 'src-launchpad', 'gearman-subunit': 'src-subunit', zuul: 'src-zuul', ansible: 'src-ansible' };

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
      onSuccess: () => { subscribed = wanted; document.body.dataset.subscribed = wanted; $('filter').setCustomValidity(''); },
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
    pending.push({ topic: topic, payload: text(message), at: new Date(), retained: message.retained });
    if (pending.length > maxEvents) {
      pending = pending.slice(pending.length - maxEvents);
    }
    if (!flushScheduled) {
      flushScheduled = true;
      setTimeout(flush, 100);
    }
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
    $('shown').textContent = list.children.length + ' shown (at most ' + maxEvents + ')';
  }

  function row(event) {
    const item = document.createElement('li');
    item.className = 'event ' + (SOURCES[event.topic.split('/')[0]] || 'src-other');
    const head = document.createElement('div');
    head.className = 'head';
    const time = document.createElement('time');
    time.dateTime = event.at.toISOString();
    time.textContent = event.at.toTimeString().slice(0, 8) + '.' + String(event.at.getMilliseconds()).padStart(3, '0');
    const topic = document.createElement('span');
    topic.className = 'topic';
    topic.textContent = event.topic + (event.retained ? '  (retained)' : '');
    head.append(time, ' ', topic);
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
      $('shown').textContent = '';
    });
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
    connect();
  }

  start();
}());

// The Realtime tab's browser client of /api/ws-audio (arvc's dialect, arvc/inference/ws_protocol.py):
// microphone -> AudioWorklet (48 kHz float32 chunks) -> WebSocket -> converted blocks -> playback worklet.
// Installs window.arvcMic once; the tab's buttons call start(settings), stop(), save().
window.arvcMic = window.arvcMic || (() => {
  const RATE = 48000, CHUNK = 960; // 20 ms messages
  const WORKLETS = `
class Linear {  // stateful linear resampler, step = input samples per output sample
  constructor(step) { this.step = step; this.t = 0; this.prev = 0; }
  feed(x, emit) {
    if (this.step === 1) { for (let i = 0; i < x.length; i++) emit(x[i]); return; }
    for (let i = 0; i < x.length; i++) {
      const cur = x[i];
      while (this.t <= 1) { emit(this.prev + (cur - this.prev) * this.t); this.t += this.step; }
      this.t -= 1; this.prev = cur;
    }
  }
}
class ArvcCapture extends AudioWorkletProcessor {
  constructor(o) {
    super(); this.rs = new Linear(sampleRate / o.processorOptions.rate); this.chunk = o.processorOptions.chunk;
    this.buf = new Float32Array(this.chunk); this.n = 0;
    this.emit = (v) => { this.buf[this.n++] = v; if (this.n === this.chunk) {
      this.port.postMessage(this.buf, [this.buf.buffer]); this.buf = new Float32Array(this.chunk); this.n = 0; } };
  }
  process(inputs) { const x = inputs[0] && inputs[0][0]; if (x) this.rs.feed(x, this.emit); return true; }
}
class ArvcPlayback extends AudioWorkletProcessor {
  constructor(o) {
    super(); this.rs = new Linear(o.processorOptions.rate / sampleRate); this.prebuffer = o.processorOptions.prebuffer;
    this.cap = o.processorOptions.cap;  // more buffered than this: skip the oldest (latency must not creep up)
    this.q = []; this.head = 0; this.avail = 0; this.playing = false; this.underruns = 0; this.skipped = 0;
    this.frames = 0;
    this.port.onmessage = (e) => {
      if (e.data === 'reset') { this.q = []; this.head = 0; this.avail = 0; this.playing = false; return; }
      const out = []; this.rs.feed(e.data, (v) => out.push(v));
      const a = Float32Array.from(out); this.q.push(a); this.avail += a.length;
      if (this.avail > this.cap) this.skip(this.avail - this.prebuffer - (this.cap - this.prebuffer) / 2);
    };
  }
  skip(n) {
    this.skipped += n;
    while (n > 0 && this.q.length) {
      const k = Math.min(n, this.q[0].length - this.head);
      this.head += k; this.avail -= k; n -= k;
      if (this.head === this.q[0].length) { this.q.shift(); this.head = 0; }
    }
  }
  process(_, outputs) {
    const out = outputs[0][0];
    if (!this.playing && this.avail >= this.prebuffer) this.playing = true;
    let i = 0;
    if (this.playing) {
      for (; i < out.length && this.avail > 0; i++) {
        out[i] = this.q[0][this.head++]; this.avail--;
        if (this.head === this.q[0].length) { this.q.shift(); this.head = 0; }
      }
      if (i < out.length) { this.underruns++; this.playing = false; }
    }
    out.fill(0, i);
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    if ((this.frames += out.length) >= sampleRate / 10) {
      this.frames = 0;
      this.port.postMessage({ buffered: this.avail / sampleRate, underruns: this.underruns, skipped: this.skipped / sampleRate });
    }
    return true;
  }
}
registerProcessor('arvc-capture', ArvcCapture);
registerProcessor('arvc-playback', ArvcPlayback);`;

  const $ = (id) => document.getElementById(id);
  const S = { ws: null, ctx: null, stream: null, rec: [], recorded: 0, sent: 0, received: 0, ready: null,
              stats: null, rtt: [], behind: 0, play: { buffered: 0, underruns: 0 }, timer: null, error: '' };
  const pct = (a, q) => { if (!a.length) return 0; const s = [...a].sort((x, y) => x - y);
                          return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))]; };
  const ms = (v) => (v === undefined || v === null ? '-' : v.toFixed(0));

  function show() {
    const r = S.ready, st = S.stats, el = $('arvc-mic-status');
    if (!el) return;
    const state = S.error ? 'error: ' + S.error : !S.ws ? 'stopped' : S.stopping ? 'stopping (the last blocks) ...'
      : r ? 'streaming' : 'connecting / loading the model ...';
    let html = `<b>${state}</b>`;
    if (r) {
      const device = S.ctx ? 1000 * ((S.ctx.baseLatency || 0) + (S.ctx.outputLatency || 0)) : 0;
      const total = S.behind + 1000 * S.play.buffered + device;
      const rtt = pct(S.rtt, 0.5);
      html += `<div id="arvc-mic-latency" data-total="${total.toFixed(1)}" data-rtt="${rtt.toFixed(2)}" ` +
        `data-behind="${S.behind.toFixed(1)}" data-buffer="${(1000 * S.play.buffered).toFixed(1)}" ` +
        `data-device="${device.toFixed(1)}" data-resampling="${r.resampling_ms}" ` +
        `data-algorithmic="${r.algorithmic_latency_ms}">latency: measured <b>${ms(total)} ms</b> = converted stream ` +
        `behind the microphone on arrival ${ms(S.behind)} ms + playback buffer ${ms(1000 * S.play.buffered)} ms + ` +
        `audio device ${ms(device)} ms; algorithmic ${r.algorithmic_latency_ms} ms (block + crossfade + search) + ` +
        `resampling ${ms(r.resampling_ms)} ms; network round trip ${rtt.toFixed(1)} ms</div>`;
    }
    if (st) {
      html += `<div id="arvc-mic-compute" data-p50="${st.p50_ms}" data-p95="${st.p95_ms}">compute per block p50 ` +
        `${ms(st.p50_ms)} ms, p95 ${ms(st.p95_ms)} ms of ${ms(st.block_ms)} ms; blocks ${st.blocks} ` +
        `(${st.silent} silent), late ${st.late}</div>` +
        `<div id="arvc-mic-underruns" data-playback="${S.play.underruns}" data-server="${st.underruns}" ` +
        `data-dropped="${st.dropped}">underruns: playback ${S.play.underruns}, server ${st.underruns}; ` +
        `skipped to catch up ${(S.play.skipped || 0).toFixed(1)} s; dropped ${st.dropped}</div>`;
    }
    html += `<div id="arvc-mic-recorded" data-seconds="${(S.recorded / RATE).toFixed(2)}" ` +
      `data-sent="${(S.sent / RATE).toFixed(3)}" data-delay="${S.delay || 0}">recorded ` +
      `${(S.recorded / RATE).toFixed(1)} s of ${(S.sent / RATE).toFixed(1)} s sent</div>`;
    el.innerHTML = html;
  }

  async function devices() {
    const list = await navigator.mediaDevices.enumerateDevices();
    for (const [id, kind] of [['arvc-mic-input', 'audioinput'], ['arvc-mic-output', 'audiooutput']]) {
      const sel = $(id); if (!sel) continue;
      const keep = sel.value;
      sel.innerHTML = '<option value="">default</option>' + list.filter((d) => d.kind === kind)
        .map((d, i) => `<option value="${d.deviceId}">${(d.label || kind + ' ' + (i + 1)).replace(/</g, '&lt;')}</option>`).join('');
      sel.value = keep;
    }
  }

  async function openAudio() {
    const input = ($('arvc-mic-input') || {}).value;
    S.stream = await navigator.mediaDevices.getUserMedia({ audio: {
      deviceId: input ? { exact: input } : undefined, channelCount: 1,
      echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
    try { S.ctx = new AudioContext({ sampleRate: RATE, latencyHint: 'interactive' }); }
    catch (e) { S.ctx = new AudioContext({ latencyHint: 'interactive' }); }  // the worklets resample
    const output = ($('arvc-mic-output') || {}).value;
    if (output && S.ctx.setSinkId) await S.ctx.setSinkId(output);
    const url = URL.createObjectURL(new Blob([WORKLETS], { type: 'application/javascript' }));
    await S.ctx.audioWorklet.addModule(url);
    const prebuffer = Math.round(S.ctx.sampleRate * Math.max(S.headroom, 20) / 1000);
    const cap = prebuffer + Math.round(2 * S.ready.block_samples * S.ctx.sampleRate / RATE);
    S.capture = new AudioWorkletNode(S.ctx, 'arvc-capture', { processorOptions: { rate: RATE, chunk: CHUNK } });
    S.playback = new AudioWorkletNode(S.ctx, 'arvc-playback', { numberOfInputs: 0, outputChannelCount: [2],
                                      processorOptions: { rate: RATE, prebuffer, cap } });
    S.playback.port.onmessage = (e) => { S.play = e.data; };
    S.capture.port.onmessage = (e) => {
      if (S.ws && S.ws.readyState === WebSocket.OPEN) {
        if (S.sent < RATE * 3600) S.inRec.push(e.data.slice());
        S.ws.send(e.data.buffer); S.sent += e.data.length;
      }
    };
    S.ctx.createMediaStreamSource(S.stream).connect(S.capture);
    S.playback.connect(S.ctx.destination);
    await S.ctx.resume();
    devices().catch(() => {});
  }

  function onText(m) {
    if (m.type === 'ready') {
      S.ready = m;
      openAudio().catch((e) => { S.error = 'microphone: ' + e.message; stop(); });
    } else if (m.type === 'stats' || m.type === 'flushed') {
      S.stats = m; S.delay = m.delay_samples;
      if (m.type === 'stats') S.behind = 1000 * (S.sent - (S.received - m.delay_samples)) / RATE;
      if (m.type === 'flushed' && S.onflushed) S.onflushed();
    } else if (m.type === 'pong') {
      S.rtt.push(performance.now() - m.t); if (S.rtt.length > 30) S.rtt.shift();
    } else if (m.type === 'error') {
      S.error = m.message; if (m.fatal) stop();
    }
  }

  function onAudio(buf) {
    const y = new Float32Array(buf);
    S.received += y.length;
    if (S.recorded < RATE * 3600) { S.rec.push(y); S.recorded += y.length; }
    if (S.playback && ($('arvc-mic-monitor') || { checked: true }).checked) {
      const c = y.slice(); S.playback.port.postMessage(c, [c.buffer]);  // y stays in the recording
    }
  }

  function start(model, index, options) {
    stop();
    Object.assign(S, { rec: [], inRec: [], recorded: 0, sent: 0, received: 0, ready: null, stats: null, rtt: [], behind: 0,
                       delay: 0, error: '', play: { buffered: 0, underruns: 0 } });
    S.headroom = Number(options.headroom_ms || 100);
    delete options.headroom_ms;
    if (!model) { S.error = 'choose a model first'; show(); return; }
    const url = new URL('api/ws-audio', window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'; url.search = ''; url.hash = '';
    const ws = new WebSocket(url.href);
    ws.binaryType = 'arraybuffer';
    S.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'settings', protocol: 'arvc', version: 1, model,
                                                index: index || null, options: { ...options, sample_rate: RATE } }));
    ws.onmessage = (ev) => (typeof ev.data === 'string' ? onText(JSON.parse(ev.data)) : onAudio(ev.data));
    ws.onclose = (ev) => { if (S.ws === ws) { if (!S.error && ev.code !== 1000) S.error = `connection closed (${ev.code})`; stop(); } };
    S.timer = setInterval(() => { if (ws.readyState === WebSocket.OPEN && S.ready) ws.send(JSON.stringify({ type: 'ping', t: performance.now() })); show(); }, 500);
    show();
  }

  function closeAudio() {
    if (S.stream) S.stream.getTracks().forEach((t) => t.stop());
    if (S.ctx) S.ctx.close().catch(() => {});
    Object.assign(S, { stream: null, ctx: null, capture: null, playback: null });
  }

  async function finish() {  // the Stop button: the microphone off, then the loop's tail before closing
    const ws = S.ws;
    if (ws && ws.readyState === WebSocket.OPEN && S.ready) {
      closeAudio();
      S.stopping = true; show();
      await new Promise((done) => { S.onflushed = done; ws.send(JSON.stringify({ type: 'flush' }));
                                    setTimeout(done, 30000); });
      S.onflushed = null; S.stopping = false;
    }
    stop();
  }

  function stop() {
    const ws = S.ws; S.ws = null;
    if (ws) { try { ws.close(1000); } catch (e) {} }
    if (S.timer) clearInterval(S.timer);
    S.timer = null;
    closeAudio();
    show();
  }

  function save(which) {  // the converted stream aligned to the microphone (the loop's delay removed), 16-bit
    // WAV; after Stop it has exactly the length of the microphone input sent. save('input'): what was sent.
    const input = which === 'input', delay = input ? 0 : (S.delay || 0);
    const n = input ? S.sent : Math.min(Math.max(S.recorded - delay, 0), S.ws ? Infinity : S.sent);
    const pcm = new Int16Array(n);
    let k = -delay;
    for (const a of (input ? S.inRec : S.rec)) for (let i = 0; i < a.length; i++, k++)
      if (k >= 0 && k < n) pcm[k] = Math.max(-32768, Math.min(32767, Math.round(a[i] * 32767)));
    const head = new DataView(new ArrayBuffer(44));
    const w = (o, s) => [...s].forEach((c, i) => head.setUint8(o + i, c.charCodeAt(0)));
    w(0, 'RIFF'); head.setUint32(4, 36 + 2 * n, true); w(8, 'WAVEfmt '); head.setUint32(16, 16, true);
    head.setUint16(20, 1, true); head.setUint16(22, 1, true); head.setUint32(24, RATE, true);
    head.setUint32(28, RATE * 2, true); head.setUint16(32, 2, true); head.setUint16(34, 16, true); w(36, 'data');
    head.setUint32(40, 2 * n, true);
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([head, pcm], { type: 'audio/wav' }));
    a.download = 'arvc-realtime-' + (input ? 'input-' : '') + new Date().toISOString().replace(/[:.]/g, '-') + '.wav';
    document.body.appendChild(a); a.click(); a.remove();
  }

  if (navigator.mediaDevices && navigator.mediaDevices.enumerateDevices) devices().catch(() => {});
  return { start, stop: finish, save, devices, state: S };
})();

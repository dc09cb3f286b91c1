// The live dashboard: one snapshot a second from /dashboard/stream (server-sent events), drawn as
// cards, a stacked chart of events per second by type, and bar lists. Names come from clients, so
// they only ever go into the page as text, never as HTML.
(() => {
  const COLORS = [
    '#2f6fed',
    '#12b76a',
    '#f79009',
    '#7a5af8',
    '#ee46bc',
    '#06aed4',
    '#d92d20',
    '#875bf7',
    '#98a2b3',
  ];
  const number = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
  const byId = (id) => document.getElementById(id);
  const colorOf = new Map();
  const color = (name) => {
    if (name === 'other') return '#98a2b3';
    if (!colorOf.has(name)) colorOf.set(name, COLORS[colorOf.size % (COLORS.length - 1)]);
    return colorOf.get(name);
  };

  const element = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };

  const bars = (list, rows, emptyText) => {
    const max = Math.max(1, ...rows.map((row) => row.count));
    const items = rows.map((row) => {
      const item = element('li');
      const bar = element('span', 'bar');
      bar.style.width = `${(100 * row.count) / max}%`;
      item.append(
        element('span', 'name', row.name),
        element('span', 'track'),
        element('span', 'count', number.format(row.count)),
      );
      item.children[1].append(bar);
      return item;
    });
    list.replaceChildren(...(items.length > 0 ? items : [element('li', 'empty', emptyText)]));
  };

  const showLag = (lag) => {
    const card = byId('lag-card');
    card.className = `card ${lag.state}`;
    let value = '–';
    let note = '';
    if (lag.state === 'none') {
      value = 'no consumer';
      note = `no checkpoints for “${lag.consumer}”`;
    } else if (lag.state === 'unknown') {
      note = lag.message;
    } else {
      value = lag.records === 0 ? 'caught up' : `${number.format(lag.records)} behind`;
      note =
        lag.state === 'stalled'
          ? `stalled: no checkpoint for ${Math.round(lag.checkpointAgeMs / 1000)} s`
          : `consumer “${lag.consumer}”`;
    }
    byId('lag').textContent = value;
    byId('lag-note').textContent = note;
  };

  const niceMax = (value) => {
    if (value <= 5) return 5;
    const power = 10 ** Math.floor(Math.log10(value));
    return [1, 2, 2.5, 5, 10].map((step) => step * power).find((step) => step >= value);
  };

  const draw = (snapshot) => {
    const canvas = byId('chart');
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const g = canvas.getContext('2d');
    g.scale(ratio, ratio);
    const style = getComputedStyle(document.documentElement);
    const left = 48;
    const bottom = height - 22;
    const points = snapshot.windowSeconds;
    const stacked = new Array(points).fill(0);
    let total = 0;
    for (const serie of snapshot.series) {
      serie.counts.forEach((count, i) => {
        stacked[i] += count;
        total += count;
      });
    }
    const top = niceMax(Math.max(...stacked, 0));
    const x = (i) => left + ((width - left - 8) * i) / Math.max(1, points - 1);
    const y = (v) => bottom - ((bottom - 8) * v) / top;

    g.clearRect(0, 0, width, height);
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = style.getPropertyValue('--muted');
    g.strokeStyle = style.getPropertyValue('--line');
    g.lineWidth = 1;
    for (let k = 0; k <= 5; k++) {
      const value = (top * k) / 5;
      g.beginPath();
      g.moveTo(left, Math.round(y(value)) + 0.5);
      g.lineTo(width - 8, Math.round(y(value)) + 0.5);
      g.stroke();
      g.fillText(number.format(value), 4, y(value) + 4);
    }
    for (let minute = 0; minute <= points / 60; minute++) {
      const i = points - 1 - minute * 60;
      if (i < 0) break;
      g.fillText(minute === 0 ? 'now' : `−${minute} min`, x(i) - 14, height - 6);
    }

    // Stacked areas, first series at the bottom.
    const base = new Array(points).fill(0);
    for (const serie of snapshot.series) {
      const upper = base.map((b, i) => b + serie.counts[i]);
      g.beginPath();
      g.moveTo(x(0), y(upper[0]));
      for (let i = 1; i < points; i++) g.lineTo(x(i), y(upper[i]));
      for (let i = points - 1; i >= 0; i--) g.lineTo(x(i), y(base[i]));
      g.closePath();
      g.globalAlpha = 0.75;
      g.fillStyle = color(serie.name);
      g.fill();
      g.globalAlpha = 1;
      upper.forEach((v, i) => {
        base[i] = v;
      });
    }
    canvas.dataset.total = String(total);

    byId('legend').replaceChildren(
      ...snapshot.series.map((serie) => {
        const item = element('li');
        const swatch = element('i');
        swatch.style.background = color(serie.name);
        item.append(swatch, document.createTextNode(serie.name));
        return item;
      }),
    );
  };

  let latest;
  const show = (snapshot) => {
    latest = snapshot;
    byId('eps').textContent = number.format(snapshot.eventsPerSecond);
    byId('active-users').textContent =
      `${number.format(snapshot.activeUsers)}${snapshot.activeUsersCapped ? '+' : ''}`;
    byId('accepted').textContent = number.format(snapshot.accepted);
    byId('rejected-total').textContent = number.format(snapshot.rejected);
    byId('refused-total').textContent = number.format(snapshot.refused);
    showLag(snapshot.lag);
    bars(byId('top-events'), snapshot.topEvents, 'no events yet');
    bars(
      byId('rejected'),
      snapshot.rejectedByReason.map((row) => ({ name: row.reason, count: row.count })),
      'none rejected',
    );
    bars(
      byId('refused'),
      snapshot.refusedByReason.map((row) => ({ name: row.reason, count: row.count })),
      'none refused',
    );
    draw(snapshot);
  };

  const connection = byId('connection');
  const source = new EventSource('/dashboard/stream');
  source.onopen = () => {
    connection.textContent = 'live';
    connection.className = 'connection live';
  };
  source.onerror = () => {
    connection.textContent = 'reconnecting…';
    connection.className = 'connection down';
  };
  source.onmessage = (message) => show(JSON.parse(message.data));
  addEventListener('resize', () => latest && draw(latest));
})();

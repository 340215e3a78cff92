// netclear report: playback and wallets. Plain JS over inline SVG, no libraries, no network.
// Reads the JSON blob in #netclear-data (written by src/output/html.rs). Marks what it drew:
// #map[data-step][data-state], <body data-ready>, and with ?autotest <body data-autotest>.
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('netclear-data').textContent);
  var N = D.labels.length, CUR = D.currency, P = D.prosumers;
  var PAL = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
  var $ = function (id) { return document.getElementById(id); };
  function esc(s) {
    return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  }
  function fix(v, d) {
    var s = Number(v).toFixed(d);
    return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
  }
  function money(v) { return (v < 0 ? '−' : '') + CUR + fix(Math.abs(v), 2); }
  function colorScale(v, lo, hi) {
    var t = Math.min(1, Math.max(0, (v - lo) / Math.max(hi - lo, 1e-12)));
    var r, g, b = 0.2;
    if (t < 0.5) { r = 2 * t; g = 0.7; } else { r = 1; g = 0.7 * (2 - 2 * t); }
    return 'rgb(' + Math.floor(r * 255) + ',' + Math.floor(g * 255) + ',' + Math.floor(b * 255) + ')';
  }
  function niceTicks(lo, hi, n) {
    if (!(hi > lo)) return [lo];
    var raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10].map(function (m) { return m * mag; }).find(function (s) { return s >= raw; });
    var out = [];
    for (var k = Math.ceil(lo / step - 1e-9); k <= Math.floor(hi / step + 1e-9); k++) out.push(k * step);
    return out;
  }
  function decimals(step) {
    for (var d = 0; d < 6; d++) {
      var x = step * Math.pow(10, d);
      if (Math.abs(x - Math.round(x)) < 1e-6 * Math.max(1, Math.abs(x))) return d;
    }
    return 6;
  }
  // y range extended to whole round ticks.
  function yAxis(vals, withZero) {
    var f = vals.filter(function (v) { return v !== null && isFinite(v); });
    var lo = f.length ? Math.min.apply(null, f) : 0, hi = f.length ? Math.max.apply(null, f) : 1;
    if (withZero) { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
    if (!(hi > lo)) hi = lo + 1;
    var t = niceTicks(lo, hi, 5), st = t.length > 1 ? t[1] - t[0] : 1;
    lo = Math.floor(lo / st + 1e-9) * st; hi = Math.ceil(hi / st - 1e-9) * st;
    return { lo: lo, hi: hi, ticks: niceTicks(lo, hi, 5), d: decimals(st) };
  }
  var W = 760, H = 300, ML = 64, MR = 170, MT = 16, MB = 44;
  var END = Math.max(24, D.hours.length ? D.hours[D.hours.length - 1] + D.step_minutes / 60 : 24);
  function frame(svgH, ya, yLabel, xLabel, xs) {
    var s = '', sy = function (y) { return MT + (1 - (y - ya.lo) / (ya.hi - ya.lo)) * (svgH - MT - MB); };
    ya.ticks.forEach(function (y) {
      s += '<line x1="' + ML + '" y1="' + sy(y).toFixed(1) + '" x2="' + (W - MR) + '" y2="' + sy(y).toFixed(1) + '" stroke="#e4e4e4"/>' +
        '<text x="' + (ML - 5) + '" y="' + (sy(y) + 4).toFixed(1) + '" font-size="11" text-anchor="end">' + fix(y, ya.d) + '</text>';
    });
    if (xs) {
      for (var h = 0; h <= END + 1e-9; h += (END <= 24 ? 3 : 6)) {
        var x = ML + h / END * (W - ML - MR);
        s += '<line x1="' + x.toFixed(1) + '" y1="' + (svgH - MB) + '" x2="' + x.toFixed(1) + '" y2="' + (svgH - MB + 4) + '" stroke="#444"/>' +
          '<text x="' + x.toFixed(1) + '" y="' + (svgH - MB + 16) + '" font-size="11" text-anchor="middle">' + h + '</text>';
      }
    }
    s += '<line x1="' + ML + '" y1="' + (svgH - MB) + '" x2="' + (W - MR) + '" y2="' + (svgH - MB) + '" stroke="#444"/>' +
      '<line x1="' + ML + '" y1="' + MT + '" x2="' + ML + '" y2="' + (svgH - MB) + '" stroke="#444"/>' +
      '<text x="' + ((ML + W - MR) / 2) + '" y="' + (svgH - 8) + '" font-size="12" text-anchor="middle">' + esc(xLabel) + '</text>' +
      '<text x="14" y="' + ((MT + svgH - MB) / 2) + '" font-size="12" transform="rotate(-90 14 ' + ((MT + svgH - MB) / 2) + ')" text-anchor="middle">' + esc(yLabel) + '</text>';
    return { s: s, sy: sy };
  }
  function legend(items) {
    return items.map(function (it, k) {
      var ly = MT + 16 * k;
      return '<rect x="' + (W - MR + 10) + '" y="' + ly + '" width="12" height="10" fill="' + it[1] + '"/>' +
        '<text x="' + (W - MR + 26) + '" y="' + (ly + 9) + '" font-size="11">' + esc(it[0]) + '</text>';
    }).join('');
  }
  // series: [{name, ys, color, width, legend(false to hide)}]
  function lineChart(id, series, yLabel) {
    var svg = $(id);
    if (!svg) return;
    var all = [];
    series.forEach(function (s) { all = all.concat(s.ys); });
    var ya = yAxis(all, true), f = frame(H, ya, yLabel, 'hour of day (h)', true), s = f.s, leg = [];
    var sx = function (h) { return ML + h / END * (W - ML - MR); };
    series.forEach(function (se) {
      var pts = [];
      se.ys.forEach(function (y, t) { if (y !== null && isFinite(y)) pts.push(sx(D.hours[t]).toFixed(1) + ',' + f.sy(y).toFixed(1)); });
      if (pts.length >= 2) {
        s += '<polyline class="series" fill="none" stroke="' + se.color + '" stroke-width="' + (se.width || 1.8) + '" points="' + pts.join(' ') + '"><title>' + esc(se.name) + '</title></polyline>';
      }
      if (se.legend !== false) leg.push([se.name, se.color]);
    });
    svg.innerHTML = s + legend(leg);
  }
  // bars: [{label, value, color, title}]
  function barChart(id, bars, yLabel, fixedAxis, svgH) {
    var svg = $(id);
    if (!svg) return;
    svgH = svgH || H;
    var ya = fixedAxis || yAxis(bars.map(function (b) { return b.value; }), true);
    var f = frame(svgH, ya, yLabel, bars.length > 30 ? '' : '', false), s = f.s;
    var n = Math.max(bars.length, 1), bw = (W - ML - MR) / n, zero = f.sy(Math.max(ya.lo, Math.min(ya.hi, 0)));
    bars.forEach(function (b, i) {
      var v = Math.max(ya.lo, Math.min(ya.hi, b.value)), y = f.sy(v), x = ML + i * bw;
      s += '<rect class="bar" x="' + (x + bw * 0.1).toFixed(1) + '" y="' + Math.min(y, zero).toFixed(1) + '" width="' + Math.max(bw * 0.8, 0.5).toFixed(1) +
        '" height="' + Math.max(Math.abs(zero - y), 0.5).toFixed(1) + '" fill="' + b.color + '"><title>' + esc(b.title) + '</title></rect>';
      if (n <= 30) {
        s += '<text x="' + (x + bw / 2).toFixed(1) + '" y="' + (svgH - MB + 14) + '" font-size="9" text-anchor="middle">' + esc(b.label) + '</text>';
      }
    });
    return { svg: svg, s: s };
  }

  // Derived per-prosumer series.
  P.forEach(function (p) {
    var w = 0, c = 0;
    p.wallet = []; p.credits = [];
    for (var t = 0; t < N; t++) {
      w -= p.bill[t]; c += p.p2p_sold_kwh[t] - p.p2p_bought_kwh[t];
      p.wallet.push(w); p.credits.push(c);
    }
  });
  var sumOver = function (f) {
    var out = [];
    for (var t = 0; t < N; t++) out.push(P.reduce(function (a, p) { return a + f(p, t); }, 0));
    return out;
  };
  var internal = sumOver(function (p, t) { return p.p2p_paid[t]; });
  var external = sumOver(function (p, t) { return p.grid_received[t] - p.grid_paid[t]; });
  var p2pVol = sumOver(function (p, t) { return p.p2p_bought_kwh[t]; });
  var maxFlow = 0;
  D.flows.forEach(function (fl) { fl.forEach(function (f) { maxFlow = Math.max(maxFlow, f[2]); }); });
  var walletAxis = yAxis([].concat.apply([], P.map(function (p) { return p.wallet; })), true);

  // ---- playback ----
  var map = $('map'), slider = $('step'), playBtn = $('play'), timer = null, current = 0;
  function stepFromHash() {
    var m = /(?:^|[#&])step=(\d+)/.exec(location.hash);
    return m ? Math.min(N - 1, Math.max(0, parseInt(m[1], 10))) : null;
  }
  function draw(t) {
    current = t;
    if (slider) { slider.value = String(t); }
    var lab = 'step ' + t + ' (' + D.labels[t] + ')';
    if ($('step-label')) $('step-label').textContent = lab;
    if ($('step-link')) { $('step-link').href = '#step=' + t; $('step-link').textContent = '#step=' + t; }
    if (map) {
      var maxLoad = 0, vmax = null, vmin = null, nFlows = 0;
      map.querySelectorAll('line.branch').forEach(function (el) {
        var series = D.loading[el.getAttribute('data-el')], v = series ? series[t] : null;
        el.setAttribute('stroke', v === null || v === undefined ? '#999' : colorScale(v, 0, 100));
        if (v !== null && v !== undefined) maxLoad = Math.max(maxLoad, v);
        var ti = el.querySelector('title');
        if (ti) ti.textContent = el.getAttribute('data-el') + ' — loading at ' + D.labels[t] + ': ' + (v === null || v === undefined ? 'n/a' : fix(v, 1) + ' %');
      });
      map.querySelectorAll('circle.bus').forEach(function (el) {
        var series = D.vm[el.getAttribute('data-bus')], v = series ? series[t] : null;
        el.setAttribute('fill', v === null || v === undefined ? '#666' : colorScale(Math.abs(v - 1), 0, 0.05));
        if (v !== null && v !== undefined) {
          vmax = vmax === null ? v : Math.max(vmax, v); vmin = vmin === null ? v : Math.min(vmin, v);
        }
        var ti = el.querySelector('title');
        if (ti) ti.textContent = 'bus ' + el.getAttribute('data-bus') + ' at ' + D.labels[t] + ': ' + (v === null || v === undefined ? 'no voltage' : fix(v, 4) + ' pu');
      });
      var g = $('flows'), s = '';
      (D.flows[t] || []).forEach(function (f) {
        var a = D.bus_xy[String(f[0])], b = D.bus_xy[String(f[1])];
        if (!a || !b) return;
        var dx = b[0] - a[0], dy = b[1] - a[1], len = Math.sqrt(dx * dx + dy * dy);
        if (len < 1e-6) return;
        var k = Math.max(0, (len - 7) / len);
        nFlows++;
        s += '<line class="flow" x1="' + a[0] + '" y1="' + a[1] + '" x2="' + (a[0] + dx * k).toFixed(1) + '" y2="' + (a[1] + dy * k).toFixed(1) +
          '" stroke="#1f4fb4" stroke-opacity="0.75" stroke-width="' + (1 + 3 * Math.sqrt(f[2] / Math.max(maxFlow, 1e-9))).toFixed(2) +
          '" marker-end="url(#arrow)"><title>P2P bus ' + f[0] + ' → bus ' + f[1] + ': ' + fix(f[2], 3) + ' kWh</title></line>';
      });
      g.innerHTML = s;
      map.setAttribute('data-step', String(t));
      map.setAttribute('data-state', 'max_loading=' + fix(maxLoad, 2) + ';vmax=' + (vmax === null ? '-' : fix(vmax, 5)) +
        ';vmin=' + (vmin === null ? '-' : fix(vmin, 5)) + ';flows=' + nFlows);
      if ($('map-caption')) {
        $('map-caption').textContent = 'at ' + D.labels[t] + ': lines by loading, buses by voltage, ' + nFlows + ' P2P flow(s) between buses as arrows (' + fix(p2pVol[t], 2) + ' kWh traded in the step)';
      }
    }
    // Every storage's SOC at this step.
    var socBars = D.storage.map(function (st) {
      var v = 100 * st.soc_kwh[t] / st.capacity_kwh;
      return { label: st.vpp ? 'VPP' : String(st.prosumer), value: v, color: st.vpp ? PAL[1] : PAL[0],
        title: st.name + ': ' + fix(st.soc_kwh[t], 2) + ' of ' + fix(st.capacity_kwh, 1) + ' kWh (' + fix(v, 1) + ' %)' };
    });
    if ($('soc-now')) {
      if (socBars.length) {
        var b = barChart('soc-now', socBars, 'SOC (% of capacity)', { lo: 0, hi: 100, ticks: [0, 25, 50, 75, 100], d: 0 }, 220);
        b.svg.innerHTML = b.s + legend([['home battery', PAL[0]], ['community battery', PAL[1]]].filter(function (l, i) {
          return D.storage.some(function (st) { return st.vpp === (i === 1); });
        }));
      } else {
        $('soc-now').innerHTML = '<text x="20" y="30" font-size="12">no storage in this run</text>';
      }
    }
    var wb = barChart('wallet-now', P.map(function (p) {
      return { label: String(p.id), value: p.wallet[t], color: p.wallet[t] >= 0 ? PAL[2] : PAL[3],
        title: p.name + ': wallet ' + money(p.wallet[t]) + ' at the end of ' + D.labels[t] };
    }), 'wallet (' + CUR + ')', walletAxis, 220);
    if (wb) wb.svg.innerHTML = wb.s + legend([['in credit', PAL[2]], ['in debit', PAL[3]]]);
    try { history.replaceState(null, '', '#step=' + t); } catch (e) { /* file:// in some browsers */ }
  }
  function play() {
    if (timer) { clearInterval(timer); timer = null; playBtn.textContent = 'Play'; return; }
    playBtn.textContent = 'Pause';
    timer = setInterval(function () { draw((current + 1) % N); }, 600);
  }
  if (slider) {
    slider.max = String(N - 1);
    slider.addEventListener('input', function () { draw(parseInt(slider.value, 10)); });
  }
  if (playBtn) playBtn.addEventListener('click', play);
  window.addEventListener('hashchange', function () { var s = stepFromHash(); if (s !== null && s !== current) draw(s); });

  // ---- wallets ----
  var who = $('who'), urls = {};
  P.forEach(function (p, i) {
    var o = document.createElement('option');
    o.value = String(i); o.textContent = p.name + ' (bus ' + p.bus + ')';
    who.appendChild(o);
  });
  var vppIdx = P.findIndex(function (p) { return p.class === 'vpp'; });
  if (vppIdx < 0 && $('vpp-figure')) $('vpp-figure').style.display = 'none';
  function sum(a) { return a.reduce(function (x, y) { return x + y; }, 0); }
  function dayText(p) {
    var s = p.name + ' (bus ' + p.bus + (p.pv_kwp > 0 ? ', ' + fix(p.pv_kwp, 1) + ' kWp PV' : ', no PV') +
      (p.battery_kwh > 0 ? ', a ' + fix(p.battery_kwh, 1) + ' kWh battery' : '') + ') used ' + fix(sum(p.load_kwh), 2) + ' kWh';
    s += sum(p.pv_kwh) > 0 ? ' and generated ' + fix(sum(p.pv_kwh), 2) + ' kWh. ' : '. ';
    var bought = sum(p.p2p_bought_kwh), sold = sum(p.p2p_sold_kwh);
    if (bought + sold > 0) {
      s += 'It bought ' + fix(bought, 2) + ' kWh from its neighbours for ' + money(sum(p.p2p_paid)) + ' and sold them ' + fix(sold, 2) + ' kWh for ' + money(sum(p.p2p_received)) + '; ';
      var best = 0;
      for (var t = 1; t < N; t++) if (p.p2p_bought_kwh[t] + p.p2p_sold_kwh[t] > p.p2p_bought_kwh[best] + p.p2p_sold_kwh[best]) best = t;
      s += 'it traded most at ' + D.labels[best] + '. ';
    } else {
      s += 'It traded nothing with its neighbours. ';
    }
    s += 'From the retailer it bought ' + fix(sum(p.grid_import_kwh), 2) + ' kWh for ' + money(sum(p.grid_paid)) + ' and sold it ' + fix(sum(p.grid_export_kwh), 2) + ' kWh for ' + money(sum(p.grid_received)) + '. ';
    var end = p.wallet[N - 1];
    s += 'Its day ends with a wallet of ' + money(end) + ' (a net bill of ' + money(p.p2p_bill) + ', ' + money(p.baseline_bill) + ' without P2P: ' +
      (p.savings >= 0 ? 'it saves ' + money(p.savings) : 'it loses ' + money(-p.savings)) + ').';
    return s;
  }
  function csvUrl(key, rows) {
    if (urls[key]) URL.revokeObjectURL(urls[key]);
    urls[key] = URL.createObjectURL(new Blob([rows.map(function (r) { return r.join(','); }).join('\n') + '\n'], { type: 'text/csv' }));
    return urls[key];
  }
  function wallets() {
    var i = parseInt(who.value, 10), p = P[i];
    $('day-summary').textContent = dayText(p);
    var series = P.map(function (q, k) {
      return { name: 'other prosumers', ys: q.wallet, color: '#c8c8c8', width: 1, legend: k === (i === 0 ? 1 : 0) };
    }).filter(function (s, k) { return k !== i; });
    series.push({ name: p.name, ys: p.wallet, color: PAL[0], width: 2.5 });
    lineChart('wallet-chart', series, 'wallet (' + CUR + ')');
    lineChart('credit-chart', [{ name: p.name, ys: p.credits, color: PAL[4], width: 2.2 }], 'energy credits (kWh)');
    var pin = p.p2p_received.map(function (v, t) { return v - p.p2p_paid[t]; });
    var pex = p.grid_received.map(function (v, t) { return v - p.grid_paid[t]; });
    lineChart('money-chart', [
      { name: 'community: internal settlement', ys: internal, color: PAL[0] },
      { name: 'community: external net', ys: external, color: PAL[1] },
      { name: p.name + ': internal net', ys: pin, color: PAL[2] },
      { name: p.name + ': external net', ys: pex, color: PAL[3] }
    ], 'money per step (' + CUR + ')');
    if (vppIdx >= 0) {
      var v = P[vppIdx];
      lineChart('vpp-chart', [
        { name: 'bought from peers', ys: v.p2p_bought_kwh, color: PAL[0] },
        { name: 'bought from the retailer', ys: v.grid_import_kwh, color: PAL[1] },
        { name: 'sold to peers', ys: v.p2p_sold_kwh, color: PAL[2] },
        { name: 'sold to the retailer', ys: v.grid_export_kwh, color: PAL[3] }
      ], 'energy per step (kWh)');
    }
    var order = P.map(function (q, k) { return k; }).sort(function (a, b) { return P[b].wallet[N - 1] - P[a].wallet[N - 1]; });
    var rb = barChart('rank-chart', order.map(function (k, r) {
      return { label: String(r + 1), value: P[k].wallet[N - 1], color: k === i ? PAL[1] : (P[k].wallet[N - 1] >= 0 ? PAL[2] : PAL[3]),
        title: '#' + (r + 1) + ' ' + P[k].name + ': ' + money(P[k].wallet[N - 1]) };
    }), 'end-of-day wallet (' + CUR + ')');
    if (rb) rb.svg.innerHTML = rb.s + legend([['chosen prosumer', PAL[1]], ['in credit', PAL[2]], ['in debit', PAL[3]]]) +
      '<text x="' + ((ML + W - MR) / 2) + '" y="' + (H - 8) + '" font-size="12" text-anchor="middle">rank (1 = largest balance)</text>';
    var day = [['step', 'time', 'hour', 'prosumer', 'wallet_' + CUR, 'credits_kwh', 'internal_net_' + CUR, 'external_net_' + CUR,
      'community_internal_settlement_' + CUR, 'community_external_net_' + CUR]];
    for (var t = 0; t < N; t++) {
      day.push([t, D.labels[t], D.hours[t], p.id, fix(p.wallet[t], 4), fix(p.credits[t], 4), fix(pin[t], 4), fix(pex[t], 4), fix(internal[t], 4), fix(external[t], 4)]);
    }
    $('csv-day').href = csvUrl('day', day);
    var rank = [['rank', 'prosumer', 'name', 'bus', 'wallet_' + CUR, 'baseline_bill_' + CUR, 'p2p_bill_' + CUR, 'savings_' + CUR]];
    order.forEach(function (k, r) {
      var q = P[k];
      rank.push([r + 1, q.id, '"' + String(q.name).replace(/"/g, '""') + '"', q.bus, fix(q.wallet[N - 1], 4), fix(q.baseline_bill, 4), fix(q.p2p_bill, 4), fix(q.savings, 4)]);
    });
    $('csv-rank').href = csvUrl('rank', rank);
  }
  who.addEventListener('change', wallets);

  // Start at the fragment's step, else at the step with the most P2P energy.
  var start = stepFromHash();
  if (start === null) {
    start = 0;
    for (var t = 1; t < N; t++) if (p2pVol[t] > p2pVol[start]) start = t;
  }
  wallets();
  draw(start);
  document.documentElement.setAttribute('data-ready', '1');
  document.body.setAttribute('data-ready', '1');

  // ?autotest: drive every control with real input events and record the outcome.
  if (/(?:^\?|&)autotest\b/.test(location.search)) {
    var fails = [], s0 = current;
    var other = s0 === 0 ? Math.min(12, N - 1) : 0, before = map ? map.getAttribute('data-state') : '';
    slider.value = String(other);
    slider.dispatchEvent(new Event('input', { bubbles: true }));
    if (map.getAttribute('data-step') !== String(other)) fails.push('slider did not move the map');
    if (map.getAttribute('data-state') === before) fails.push('map state unchanged by the slider');
    if (location.hash !== '#step=' + other) fails.push('fragment not updated: ' + location.hash);
    playBtn.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    if (playBtn.textContent !== 'Pause' || !timer) fails.push('play did not start');
    playBtn.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    if (playBtn.textContent !== 'Play' || timer) fails.push('pause did not stop');
    var last = P.length - 1, textBefore = $('day-summary').textContent, hrefBefore = $('csv-day').href;
    who.value = String(last);
    who.dispatchEvent(new Event('change', { bubbles: true }));
    if ($('day-summary').textContent.indexOf(P[last].name) !== 0) fails.push('summary does not name the chosen prosumer');
    if (P.length > 1 && $('day-summary').textContent === textBefore) fails.push('summary unchanged');
    if ($('csv-day').href.indexOf('blob:') !== 0 || $('csv-day').href === hrefBefore) fails.push('CSV link not renewed');
    if (!$('wallet-chart').querySelector('polyline')) fails.push('no wallet lines');
    document.body.setAttribute('data-autotest', fails.length ? 'fail: ' + fails.join('; ') : 'pass');
  }
})();

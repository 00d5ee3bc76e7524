// medsearch page: one query image in, the predicted class and the most similar cases out.
// Plain DOM, no framework, nothing loaded from elsewhere; text goes in with textContent only.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const drop = $('drop');
  const fileInput = $('file');
  const kInput = $('k');
  const scopeInput = $('scope');
  const errorBox = $('error');
  const status = $('status');
  const results = $('results');
  const viewer = $('viewer');
  let current = null;       // the File being searched with
  let previewUrl = null;    // its object URL, revoked when replaced
  let lastOpener = null;    // the result button that opened the viewer, to return focus to
  let generation = 0;       // answers to superseded searches are dropped
  let region = null;        // {x, y, w, h} in the query image's own pixels, or null for all of it
  const marks = new Map();  // hit id -> 'relevant' | 'irrelevant', for the next search
  let opened = null;        // the hit shown in the viewer
  let dragged = false;      // a region was drawn: the click that ends it does not open the file chooser

  function showError(title, message) {
    errorBox.replaceChildren();
    const strong = document.createElement('strong');
    strong.textContent = title;
    const text = document.createElement('span');
    text.textContent = message;
    errorBox.append(strong, text);
    errorBox.hidden = false;
  }

  function clearError() {
    errorBox.hidden = true;
    errorBox.replaceChildren();
  }

  function clampK() {
    const k = Math.round(Number(kInput.value));
    const v = kInput.value.trim() !== '' && Number.isFinite(k) ? Math.min(100, Math.max(1, k)) : 10;
    kInput.value = String(v);
    return v;
  }

  function setQuery(file) {
    current = file;
    setRegion(null);
    marks.clear();
    $('file-name').textContent = file.name;
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(file);
    const img = $('query-preview');
    // the browser may not display every format the server reads (TIFF); the search still runs
    img.onerror = () => { img.hidden = true; drop.classList.remove('has-image'); };
    img.onload = () => { img.hidden = false; drop.classList.add('has-image'); };
    $('drop-hint').textContent = 'Drop another image, or press Enter to choose one.';
    img.alt = 'Query image ' + file.name;
    img.src = previewUrl;
    search();
  }

  async function search() {
    if (!current) return;
    const mine = ++generation;
    clearError();
    const form = new FormData();
    form.append('image', current);
    form.append('k', String(clampK()));
    form.append('scope', scopeInput.value);
    if (region) form.append('region', [region.x, region.y, region.w, region.h].join(','));
    const relevant = [...marks].filter(([, v]) => v === 'relevant').map(([id]) => id);
    const irrelevant = [...marks].filter(([, v]) => v === 'irrelevant').map(([id]) => id);
    if (relevant.length) form.append('relevant', relevant.join(','));
    if (irrelevant.length) form.append('irrelevant', irrelevant.join(','));
    status.textContent = 'Searching…';
    drop.setAttribute('aria-busy', 'true');
    let response;
    let body = null;
    try {
      response = await fetch('/api/search', { method: 'POST', body: form });
      body = await response.json().catch(() => null);
    } catch (e) {
      if (mine !== generation) return;
      drop.removeAttribute('aria-busy');
      showError('The server did not answer.', 'Check that medsearch is still running, then try again.');
      status.textContent = 'Search failed.';
      return;
    }
    if (mine !== generation) return;
    drop.removeAttribute('aria-busy');
    if (!response.ok) {
      const message = body && body.message ? body.message : 'HTTP ' + response.status;
      const title = response.status === 503 ? 'The server is busy.' : 'This file was rejected.';
      showError(title, capitalise(message) + '.');
      $('prediction').hidden = true;
      $('vote').hidden = true;
      results.replaceChildren();
      status.textContent = 'No results: ' + message + '.';
      return;
    }
    render(body);
  }

  function capitalise(s) {
    const t = s.replace(/\.$/, '');
    return t.charAt(0).toUpperCase() + t.slice(1);
  }

  function percent(p) {
    return (p * 100).toFixed(p >= 0.995 || p < 0.001 ? 0 : 1) + '%';
  }

  function render(r) {
    $('predicted-class').textContent = r.predicted.name;
    $('predicted-prob').textContent = percent(r.predicted.probability);
    const bars = $('probabilities');
    bars.replaceChildren();
    const sorted = [...r.probabilities].sort((a, b) => b.probability - a.probability);
    for (const c of sorted) {
      const li = document.createElement('li');
      if (c.name === r.predicted.name) li.className = 'best';
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = c.name;
      name.title = c.name;
      const track = document.createElement('span');
      track.className = 'track';
      track.setAttribute('aria-hidden', 'true');
      const fill = document.createElement('span');
      fill.className = 'fill';
      fill.style.display = 'block';
      fill.style.width = Math.max(0, Math.min(100, c.probability * 100)) + '%';
      track.append(fill);
      const value = document.createElement('span');
      value.className = 'value';
      value.textContent = percent(c.probability);
      li.append(name, track, value);
      bars.append(li);
    }
    $('prediction').hidden = false;

    results.replaceChildren();
    r.results.forEach((hit, i) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'result';
      b.dataset.id = String(hit.id);
      b.setAttribute('aria-label', 'Result ' + (i + 1) + ': ' + hit.label + ', distance '
        + hit.distance.toPrecision(3) + '. Open larger.');
      const img = document.createElement('img');
      img.src = hit.thumbnailUrl;
      img.alt = '';
      img.loading = 'lazy';
      // an image the server cannot show (a PACS image indexed without --link-back): say so, no broken icon
      img.addEventListener('error', () => {
        const none = document.createElement('span');
        none.className = 'no-preview';
        none.textContent = 'no preview';
        img.replaceWith(none);
      });
      const meta = document.createElement('span');
      meta.className = 'meta';
      const label = document.createElement('span');
      label.className = 'label';
      label.textContent = hit.label;
      const rank = document.createElement('span');
      rank.className = 'rank';
      rank.textContent = '#' + (i + 1);
      meta.append(label, rank);
      const dist = document.createElement('span');
      dist.className = 'distance';
      dist.textContent = 'distance ' + hit.distance.toPrecision(3);
      b.append(img, meta, dist);
      b.addEventListener('click', () => openViewer(hit, i + 1, b));
      li.append(b, markButtons(hit, i + 1));
      const pacs = pacsLink(hit, 'Open result ' + (i + 1) + ' in the PACS viewer');
      if (pacs) li.append(pacs);
      results.append(li);
    });
    const t = r.timings;
    status.textContent = r.results.length === 0
      ? 'Predicted ' + r.predicted.name + '; no indexed image to compare with.'
      : r.results.length + ' most similar images ' + scopeText(r) + ' (predicted ' + r.predicted.name + ', '
        + percent(r.predicted.probability) + autoText(r) + '). Server time ' + t.totalMs.toFixed(0) + ' ms.';
    renderVote(r);
    $('feedback-bar').hidden = r.results.length === 0;
    updateMarks();
  }

  // relevance feedback: two toggles per hit; the marks go with the next search (the API keeps no state)
  function markButtons(hit, rank) {
    const box = document.createElement('span');
    box.className = 'marks';
    for (const [value, label, text] of [['relevant', 'Relevant', '✓'], ['irrelevant', 'Not relevant', '✗']]) {
      const m = document.createElement('button');
      m.type = 'button';
      m.className = 'mark ' + value;
      m.textContent = text;
      m.setAttribute('aria-label', label + ': result ' + rank);
      m.setAttribute('aria-pressed', String(marks.get(hit.id) === value));
      m.addEventListener('click', () => {
        if (marks.get(hit.id) === value) marks.delete(hit.id); else marks.set(hit.id, value);
        for (const other of box.querySelectorAll('.mark')) {
          other.setAttribute('aria-pressed', String(marks.get(hit.id) === other.classList[1]));
        }
        updateMarks();
      });
      box.append(m);
    }
    return box;
  }

  function updateMarks() {
    const rel = [...marks.values()].filter((v) => v === 'relevant').length;
    const irr = marks.size - rel;
    $('refine').disabled = marks.size === 0;
    $('marks').textContent = marks.size === 0
      ? 'Mark results as relevant or not, then search again.'
      : rel + ' relevant, ' + irr + ' not relevant: the search moves toward the first and away from the others.';
  }

  // which classes were searched, in words: one class, all of them, or a list
  function scopeText(r) {
    const searched = r.searched || [];
    const everyClass = r.probabilities.length > 0 && searched.length >= r.probabilities.length;
    if (r.scope === 'all' || everyClass || searched.length === 0) return 'among all classes';
    if (searched.length === 1) return 'of class ' + searched[0];
    return 'among ' + searched.join(', ');
  }

  function autoText(r) {
    if (r.threshold === undefined || r.threshold === null) return '';
    return r.predicted.probability >= r.threshold
      ? '; auto scope: at least the threshold of ' + percent(r.threshold)
      : '; auto scope: below the threshold of ' + percent(r.threshold) + ', so all classes';
  }

  // the labels of the similar cases, weighted by closeness, and whether they side with the classifier
  function renderVote(r) {
    const box = $('vote');
    const note = $('vote-note');
    const v = r.vote;
    if (!v || !v.top || r.results.length === 0) {
      box.hidden = true;
      return;
    }
    const parts = Object.entries(v.distribution).map(([name, share]) => (name || 'unlabelled') + ' ' + percent(share));
    $('vote-summary').textContent = 'Similar cases by label, weighted by closeness: ' + parts.join(', ') + '.';
    if (v.agrees === false) {
      note.textContent = 'They disagree with the classifier: mostly ' + v.top + ', not ' + r.predicted.name + '.';
      note.hidden = false;
    } else {
      note.textContent = '';
      note.hidden = true;
    }
    box.hidden = false;
  }

  // the server fills viewerUrl from its --viewer-url template; only http(s) links are shown
  function pacsLink(hit, label) {
    if (!hit.viewerUrl || !/^https?:\/\//i.test(hit.viewerUrl)) return null;
    const a = document.createElement('a');
    a.className = 'open-in-pacs';
    a.href = hit.viewerUrl;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = 'Open in viewer';
    a.setAttribute('aria-label', label);
    return a;
  }

  function openViewer(hit, rank, opener) {
    lastOpener = opener;
    opened = hit;
    $('viewer-title').textContent = 'Result ' + rank + ': ' + hit.label;
    $('viewer-caption').textContent = 'Image ' + hit.id + ', distance ' + hit.distance.toPrecision(4);
    const img = $('viewer-image');
    img.alt = 'Result ' + rank + ', class ' + hit.label;
    img.src = hit.imageUrl;
    const pacs = $('viewer-pacs');
    if (hit.viewerUrl && /^https?:\/\//i.test(hit.viewerUrl)) {
      pacs.href = hit.viewerUrl;
      pacs.hidden = false;
    } else {
      pacs.removeAttribute('href');
      pacs.hidden = true;
    }
    viewer.showModal();
    $('viewer-close').focus();
    explain(hit);
  }

  // both similarity maps of the query and the opened hit (one forward pass per image on the server)
  async function explain(hit) {
    const box = $('explain');
    box.hidden = true;
    if (!current) return;
    const form = new FormData();
    form.append('image', current);
    form.append('id', String(hit.id));
    if (region) form.append('region', [region.x, region.y, region.w, region.h].join(','));
    try {
      const response = await fetch('/api/explain', { method: 'POST', body: form });
      if (!response.ok || !viewer.open) return;
      const e = await response.json();
      $('explain-query').src = e.queryOverlay;
      $('explain-hit').src = e.hitOverlay;
      box.hidden = false;
    } catch (err) {
      // the plain view stays; the maps are an extra
    }
  }

  // search by region: drag a box on the query image; its pixels, not the screen's, go to the server
  function setRegion(r) {
    region = r;
    const box = $('region-box');
    $('region-clear').hidden = !r;
    $('region-text').textContent = r
      ? 'Searching the region ' + r.w + '×' + r.h + ' at (' + r.x + ', ' + r.y + ').'
      : 'Drag on the image to search one part of it.';
    if (!r) box.hidden = true;
  }

  (() => {
    const img = $('query-preview');
    const box = $('region-box');
    let start = null;
    const point = (e) => {
      const rect = img.getBoundingClientRect();
      return {
        x: Math.min(Math.max(e.clientX - rect.left, 0), rect.width),
        y: Math.min(Math.max(e.clientY - rect.top, 0), rect.height),
        rect,
      };
    };
    img.addEventListener('pointerdown', (e) => {
      if (img.hidden) return;
      e.preventDefault();
      start = point(e);
      img.setPointerCapture(e.pointerId);
    });
    img.addEventListener('pointermove', (e) => {
      if (!start) return;
      const p = point(e);
      const left = Math.min(start.x, p.x);
      const top = Math.min(start.y, p.y);
      box.style.left = (img.offsetLeft + left) + 'px';
      box.style.top = (img.offsetTop + top) + 'px';
      box.style.width = Math.abs(p.x - start.x) + 'px';
      box.style.height = Math.abs(p.y - start.y) + 'px';
      box.hidden = false;
    });
    img.addEventListener('pointerup', (e) => {
      if (!start) return;
      const p = point(e);
      const sx = img.naturalWidth / p.rect.width;
      const sy = img.naturalHeight / p.rect.height;
      const r = {
        x: Math.round(Math.min(start.x, p.x) * sx),
        y: Math.round(Math.min(start.y, p.y) * sy),
        w: Math.round(Math.abs(p.x - start.x) * sx),
        h: Math.round(Math.abs(p.y - start.y) * sy),
      };
      start = null;
      if (r.w >= 8 && r.h >= 8) {
        dragged = true;
        r.w = Math.min(r.w, img.naturalWidth - r.x);
        r.h = Math.min(r.h, img.naturalHeight - r.y);
        setRegion(r);
        marks.clear();
        search();
      } else {
        box.hidden = !region;
      }
    });
  })();
  $('region-clear').addEventListener('click', () => { setRegion(null); marks.clear(); search(); });
  $('refine').addEventListener('click', () => search());

  // the dialog closes with Escape (natively), the Close button or a click on the backdrop
  $('viewer-close').addEventListener('click', () => viewer.close());
  // "more like this case": the opened result, as the server renders it, becomes the query
  $('viewer-search').addEventListener('click', async () => {
    const hit = opened;
    if (!hit) return;
    let blob = null;
    try {
      const response = await fetch(hit.imageUrl);
      if (response.ok) blob = await response.blob();
    } catch (e) {
      blob = null;
    }
    viewer.close();
    if (!blob) {
      // the error shows on the page, which the modal viewer would hide
      showError('This result cannot be used as a query.', 'Its image could not be had from the server.');
      return;
    }
    lastOpener = null;
    setQuery(new File([blob], 'result ' + hit.id + '.png', { type: 'image/png' }));
    $('results-heading').focus();
  });
  viewer.addEventListener('click', (e) => { if (e.target === viewer) viewer.close(); });
  viewer.addEventListener('close', () => { if (lastOpener) lastOpener.focus(); });

  fileInput.addEventListener('change', () => {
    if (fileInput.files && fileInput.files[0]) setQuery(fileInput.files[0]);
  });
  drop.addEventListener('click', () => {
    if (dragged) { dragged = false; return; }
    fileInput.click();
  });
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      fileInput.click();
    }
  });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('dragging'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('dragging');
    const f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (f) setQuery(f);
  });
  // a file dropped outside the zone must not replace the page
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
  kInput.addEventListener('change', search);
  scopeInput.addEventListener('change', search);

  fetch('/api/classes').then((r) => r.json()).then((c) => {
    const names = c.classes.map((x) => x.name + ' ' + x.count).join(', ');
    $('index-info').textContent = c.total + ' indexed images in ' + c.classes.length + ' classes: ' + names + '.';
  }).catch(() => { $('index-info').textContent = 'The index could not be read.'; });
})();

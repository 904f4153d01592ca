// The console page's script, sent inline as it is (no build step, no framework): it reads
// /__emulator/state and polls /__emulator/calls, renders with textContent only (refs and paths come
// from anyone who calls the emulator), and sends each action with the key the page carries. Kept as a
// string rather than a function's source, so no bundler helper can leak into it.
export const CONSOLE_SCRIPT = String.raw`
'use strict';
var KEY = document.body.getAttribute('data-key');
var ENDPOINTS = JSON.parse(document.body.getAttribute('data-endpoints'));
var EVENTS = ['subscription-created', 'subscription-updated', 'subscription-cancelled', 'subscription-reactivated', 'payment-failed', 'subscription-incomplete'];
var lastCall = 0;
var lastState = '';
var products = [];

function el(tag, props, children) {
  var e = document.createElement(tag);
  Object.keys(props || {}).forEach(function (k) {
    if (k === 'text') e.textContent = props[k];
    else if (k === 'onclick') e.addEventListener('click', props[k]);
    else e.setAttribute(k, props[k]);
  });
  (children || []).forEach(function (c) { if (c) e.appendChild(c); });
  return e;
}
function slug(s) { return String(s).replace(/[^A-Za-z0-9_-]/g, function (c) { return '_' + c.charCodeAt(0).toString(16); }); }
function seg(s) { return encodeURIComponent(s); }

function api(method, path, body) {
  var init = { method: method, headers: { authorization: 'Bearer ' + KEY } };
  if (body !== undefined) { init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
  return fetch('/__emulator/' + path, init).then(function (res) {
    return res.json().then(function (json) { return { status: res.status, json: json }; });
  });
}

/** Runs one action and says in the activity log what it sent and what came back. */
function act(method, path, body) {
  return api(method, path, body).then(function (r) {
    var line = method + ' /__emulator/' + path + (body === undefined ? '' : ' ' + JSON.stringify(body)) + ' \u2192 ' + r.status;
    if (r.status >= 400) line += ': ' + (r.json.detail || '');
    var sent = r.json.sent;
    var item = el('li', { text: line });
    if (sent) {
      var hooks = sent.deliveries.map(function (d) { return d.url + ' \u2192 ' + (d.status !== undefined ? d.status : d.error); });
      item.appendChild(el('div', { text: 'webhook ' + sent.webhook.event + ' for ' + sent.webhook.account_ref_id + ' (' + sent.webhook.transaction_id + '): ' + (hooks.length ? hooks.join(', ') : 'no webhook URL configured') }));
    }
    var log = document.getElementById('activity');
    log.insertBefore(item, log.firstChild);
    while (log.children.length > 20) log.removeChild(log.lastChild);
    return refreshState();
  }).catch(function (err) { document.getElementById('activity').prepend(el('li', { text: method + ' ' + path + ' failed: ' + err.message })); });
}

/** A button whose id (scope + key, the label by default) survives a re-render, so focus can be put back on it. */
function button(label, onclick, scope, key) { return el('button', { type: 'button', text: label, onclick: onclick, id: scope + '-' + slug(key || label) }); }
/**
 * What the user picked or typed but has not sent yet, by control id: a redraw (the state changed under
 * the page) must not put back the old value between the pick and the click.
 */
var drafts = {};
function labelled(text, control, id) {
  control.id = id;
  if (drafts[id] !== undefined) control.value = drafts[id];
  var keep = function () { drafts[id] = control.value; };
  control.addEventListener('input', keep);
  control.addEventListener('change', keep);
  return el('span', { 'class': 'field' }, [el('label', { 'for': id, text: text }), control]);
}
/** The control's value, its draft spent. */
function take(control) { delete drafts[control.id]; return control.value; }
function select(options, value) {
  var s = el('select');
  options.forEach(function (o) { var opt = el('option', { value: o, text: o }); if (o === value) opt.selected = true; s.appendChild(opt); });
  return s;
}
function list(items, empty) {
  if (!items.length) return el('p', { 'class': 'muted', text: empty });
  return el('ul', {}, items.map(function (t) { return typeof t === 'string' ? el('li', { text: t }) : t; }));
}

function subscriptionRows(acc, id) {
  var names = [];
  acc.subscriptions.forEach(function (s) { if (names.indexOf(s.subscription) < 0) names.push(s.subscription); });
  products.forEach(function (p) { if (p.tiers.length && names.indexOf(p.label_name) < 0) names.push(p.label_name); });
  var body = el('tbody');
  names.forEach(function (name) {
    var rows = acc.subscriptions.filter(function (s) { return s.subscription === name; });
    var current = rows.filter(function (s) { return s.status === 'active'; })[0] || rows[rows.length - 1];
    var product = products.filter(function (p) { return p.label_name === name; })[0];
    var tiers = product && product.tiers.length ? product.tiers : rows.map(function (s) { return s.tier; });
    var path = 'accounts/' + seg(acc.account_ref_id) + '/subscriptions/' + seg(name);
    var tierSelect = select(tiers, current ? current.tier : tiers[0]);
    var controls = el('td', { 'class': 'controls' }, [
      labelled('Tier for ' + name, tierSelect, id + '-tier-' + slug(name)),
      button('Change tier of ' + name, function () { act('PUT', path, { tier: take(tierSelect) }); }, id),
      current ? button('Cancel ' + name, function () { act('PUT', path, { status: 'canceled' }); }, id) : null,
      current ? button('Reactivate ' + name, function () { act('PUT', path, { status: 'active' }); }, id) : null,
    ]);
    var state = rows.length ? rows.map(function (s) { return s.tier + ': ' + s.status; }).join(', ') : 'not subscribed';
    body.appendChild(el('tr', {}, [el('th', { scope: 'row', text: name }), el('td', { text: state }), controls]));
  });
  if (!names.length) return el('p', { 'class': 'muted', text: 'No subscriptions.' });
  return el('table', {}, [el('caption', { text: 'Subscriptions' }), el('thead', {}, [el('tr', {}, [el('th', { scope: 'col', text: 'Subscription' }), el('th', { scope: 'col', text: 'Tiers and status' }), el('th', { scope: 'col', text: 'Actions' })])]), body]);
}

function entitlementItems(acc, id) {
  var pairs = [];
  products.forEach(function (p) { p.entitlements.forEach(function (e) { pairs.push(p.label_name + '/' + e); }); });
  acc.entitlements.forEach(function (e) { var k = e.product + '/' + e.entitlement; if (pairs.indexOf(k) < 0) pairs.push(k); });
  return pairs.map(function (k) {
    var has = acc.entitlements.some(function (e) { return e.product + '/' + e.entitlement === k; });
    var parts = k.split('/');
    var path = 'accounts/' + seg(acc.account_ref_id) + '/entitlements/' + seg(parts[0]) + '/' + seg(parts.slice(1).join('/'));
    return el('li', {}, [
      el('span', { text: k + ': ' + (has ? 'granted' : 'not granted') + ' ' }),
      button((has ? 'Revoke ' : 'Grant ') + k, function () { act('PUT', path, { hasAccess: !has }); }, id, 'toggle ' + k),
    ]);
  });
}

function creditItems(acc, id) {
  var pairs = [];
  products.forEach(function (p) { if (p.usage_model === 'prepaid_credits') p.meters.forEach(function (m) { pairs.push(p.label_name + '/' + m); }); });
  acc.credits.forEach(function (c) { var k = c.product + '/' + c.meter; if (pairs.indexOf(k) < 0) pairs.push(k); });
  return pairs.map(function (k) {
    var row = acc.credits.filter(function (c) { return c.product + '/' + c.meter === k; })[0];
    var balance = row ? row.balance : 0;
    var parts = k.split('/');
    var input = el('input', { type: 'number', min: '0', step: '1', value: String(balance) });
    var path = 'accounts/' + seg(acc.account_ref_id) + '/credits/' + seg(parts[0]) + '/' + seg(parts.slice(1).join('/'));
    return el('li', {}, [
      el('span', { text: k + ': ' + balance + ' ' }),
      labelled('New balance of ' + k, input, id + '-credits-' + slug(k)),
      button('Set ' + k, function () { act('PUT', path, { balance: Number(take(input)) }); }, id),
    ]);
  });
}

function accountCard(acc) {
  var id = 'acc-' + slug(acc.account_ref_id);
  var eventSelect = select(EVENTS, 'subscription-updated');
  return el('article', { 'class': 'account', 'aria-labelledby': id, 'data-account': acc.account_ref_id }, [
    el('h3', { id: id, text: acc.account_ref_id }),
    el('p', { 'class': 'muted', text: acc.customer_email || 'no email' }),
    subscriptionRows(acc, id),
    el('h4', { text: 'Entitlements' }),
    list(entitlementItems(acc, id), 'No entitlements declared.'),
    el('h4', { text: 'Credits' }),
    list(creditItems(acc, id), 'No credit balances.'),
    el('h4', { text: 'Usage totals' }),
    list(acc.usage.map(function (u) { return u.product + '/' + u.meter + ': ' + u.total; }), 'No usage recorded.'),
    el('h4', { text: 'Recent debits' }),
    list(acc.recent_debits.map(function (d) { return d.at.slice(11, 19) + ' ' + d.product + '/' + d.meter + ' ' + d.quantity + (d.approved ? ' debited' : ' refused') + ' (' + d.event_key + ')'; }), 'No debits.'),
    el('div', { 'class': 'controls' }, [
      labelled('Event for ' + acc.account_ref_id, eventSelect, id + '-event'),
      button('Send webhook for ' + acc.account_ref_id, function () { act('POST', 'webhooks', { event: eventSelect.value, account_ref_id: acc.account_ref_id }); }, id),
    ]),
  ]);
}

function renderState(s) {
  products = s.products;
  document.getElementById('hooks').textContent = s.webhook_urls.length ? s.webhook_urls.join(', ') : 'no webhook URL (start with --webhook-url URL)';
  // A redraw must not take the keyboard user's place: the focused control is found again by id.
  var focused = document.activeElement && document.activeElement.id;
  var box = document.getElementById('accounts');
  box.replaceChildren.apply(box, s.accounts.map(accountCard));
  if (!s.accounts.length) box.appendChild(el('p', { 'class': 'muted', text: 'No accounts.' }));
  document.getElementById('faults').replaceChildren(list(s.faults.map(function (f) { return JSON.stringify(f); }), 'No faults injected.'));
  if (focused) {
    var again = document.getElementById(focused);
    if (again) again.focus();
  }
}

function refreshState() {
  return api('GET', 'state').then(function (r) {
    var text = JSON.stringify(r.json);
    if (r.status === 200 && text !== lastState) { lastState = text; renderState(r.json); }
  });
}

function callRow(c) {
  var q = Object.keys(c.query || {}).map(function (k) { return k + '=' + c.query[k]; }).join('&');
  var answer = c.response === undefined ? '' : JSON.stringify(c.response);
  if (answer.length > 160) answer = answer.slice(0, 160) + '\u2026';
  var asked = c.method + ' ' + c.path + (q ? '?' + q : '') + (c.body === undefined ? '' : ' ' + JSON.stringify(c.body).slice(0, 160));
  return el('tr', {}, [
    el('td', { text: new Date(c.at).toISOString().slice(11, 23) }),
    el('td', { text: c.accountRefId || '' }),
    el('td', { text: c.endpoint }),
    el('td', {}, [el('code', { text: asked })]),
    el('td', { text: c.status === undefined ? '\u2026' : String(c.status) }),
    el('td', {}, [el('code', { text: answer })]),
  ]);
}

function pollCalls() {
  return api('GET', 'calls?limit=100&after=' + lastCall).then(function (r) {
    if (r.status !== 200) return;
    var body = document.getElementById('calls-body');
    r.json.calls.forEach(function (c) { body.insertBefore(callRow(c), body.firstChild); lastCall = c.id; });
    while (body.children.length > 100) body.removeChild(body.lastChild);
    if (r.json.calls.length) return refreshState();
  });
}

function loop() {
  pollCalls().catch(function () {}).then(function () { setTimeout(loop, 500); });
}
setInterval(function () { refreshState().catch(function () {}); }, 3000);

document.getElementById('fault-form').addEventListener('submit', function (ev) {
  ev.preventDefault();
  var f = ev.target.elements;
  var body = { kind: f.kind.value };
  if (f.endpoint.value) body.endpoint = f.endpoint.value;
  if (f.account.value) body.accountRefId = f.account.value;
  if (f.status.value) body.status = Number(f.status.value);
  if (f.ms.value) body.ms = Number(f.ms.value);
  if (f.times.value) body.times = Number(f.times.value);
  act('POST', 'faults', body);
});
document.getElementById('clear-faults').addEventListener('click', function () { act('DELETE', 'faults'); });
var endpointSelect = document.getElementById('fault-endpoint');
ENDPOINTS.forEach(function (e) { endpointSelect.appendChild(el('option', { value: e, text: e })); });

refreshState().then(loop, loop);
`;

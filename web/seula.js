/*
 * seula.js - the Seula tracker.  No dependencies, no third-party requests.
 *
 *   <script>window.seula=window.seula||function(){(seula.q=seula.q||[]).push(arguments)}</script>
 *   <script defer src="https://stats.example.com/seula.js" data-site="mysite"></script>
 *
 * data-site   the site id configured on the server (required)
 * data-api    collect URL (default: this script's origin + /api/collect),
 *             so both may be served from the site's own paths
 *
 * Sends a page view on load and on every single-page-app navigation, the
 * visible time on each page (engagement) when it is hidden or left, and
 * custom events:  seula('event', 'signup', {plan: 'pro'})
 *
 * Consent hook.  Until told otherwise the tracker sets no cookie and sends
 * no visitor id; the server then counts the visit without cookies.  The
 * consent banner (or the site) tells it what the visitor allowed:
 *   seula('consent', {analytics: true})          or, equivalently,
 *   window.dispatchEvent(new CustomEvent('seula:consent',
 *                                        {detail: {analytics: true}}))
 * With analytics allowed a first-party cookie seula_vid (a random UUID,
 * 13 months) is set and sent as visitor_id; {analytics: false} deletes it.
 * Commands queued before this script loads run before the first page view.
 *
 * The site owner can keep their own visits out: localStorage.seula_ignore = "true".
 */
(function () {
	'use strict';
	var w = window, d = document, nav = navigator, loc = w.location;
	var COOKIE = 'seula_vid';
	var MAX_AGE = 33696000; /* 13 months, the longest a consent cookie may live */
	var UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

	var script = d.currentScript || d.querySelector('script[data-site]');
	var queued = (w.seula && w.seula.q) || [];
	var site = script && script.getAttribute('data-site');
	var ignored = false;
	try {
		ignored = w.localStorage.getItem('seula_ignore') === 'true';
	} catch (e) { /* storage blocked: not ignored */ }
	if (!site || ignored || !/^https?:$/.test(loc.protocol)) {
		w.seula = function () {};
		return;
	}
	var api;
	try {
		api = new URL(script.getAttribute('data-api') ||
			new URL(script.src, loc.href).origin + '/api/collect', loc.href).href;
	} catch (e) {
		w.seula = function () {};
		return;
	}

	var visitorId = null;
	var currentUrl = null;
	var referrer = d.referrer;
	var visibleSince = null;
	var visibleMs = 0;

	/* ---- text the server accepts ------------------------------------- */

	function clean(s, max) {
		s = String(s == null ? '' : s).replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, ' ');
		/* max is in bytes; a character is at most 4 of them */
		return s.length * 4 > max ? s.slice(0, Math.floor(max / 4)) : s;
	}

	function pageUrl() {
		var u = loc.href.split('#')[0];
		return u.length > 2000 ? loc.origin + loc.pathname.slice(0, 1500) : u;
	}

	function props(p) {
		var out = {}, n = 0;
		if (!p || typeof p !== 'object') return undefined;
		for (var k in p) {
			if (!Object.prototype.hasOwnProperty.call(p, k) || n >= 30) continue;
			var v = p[k], key = clean(k, 64);
			if (!key) continue;
			if (v === null || typeof v === 'number' && isFinite(v) || typeof v === 'boolean') out[key] = v;
			else if (typeof v === 'string') out[key] = clean(v, 512);
			else continue;
			n++;
		}
		return n ? out : undefined;
	}

	/* ---- the visitor cookie, only with consent ----------------------- */

	function readCookie() {
		var m = d.cookie.match(/(?:^|;\s*)seula_vid=([^;]*)/);
		return m && UUID_RE.test(m[1]) ? m[1] : null;
	}

	function writeCookie(value, maxAge) {
		d.cookie = COOKIE + '=' + value + '; Path=/; Max-Age=' + maxAge +
			'; SameSite=Lax' + (loc.protocol === 'https:' ? '; Secure' : '');
	}

	function newId() {
		var c = w.crypto;
		if (c && c.randomUUID) return c.randomUUID();
		var b = c.getRandomValues(new Uint8Array(16)), h = [];
		b[6] = b[6] & 0x0f | 0x40;
		b[8] = b[8] & 0x3f | 0x80;
		for (var i = 0; i < 16; i++) h.push((b[i] + 0x100).toString(16).slice(1));
		return h.slice(0, 4).join('') + '-' + h.slice(4, 6).join('') + '-' +
			h.slice(6, 8).join('') + '-' + h.slice(8, 10).join('') + '-' + h.slice(10).join('');
	}

	function consent(choice) {
		if (choice && choice.analytics === true) {
			visitorId = readCookie() || newId();
			writeCookie(visitorId, MAX_AGE);
		} else {
			visitorId = null;
			writeCookie('', 0);
		}
	}

	/* ---- sending ------------------------------------------------------- */

	function event(type, extra) {
		var e = {site: site, type: type, url: currentUrl || pageUrl()};
		if (visitorId) e.visitor_id = visitorId;
		for (var k in extra) if (extra[k] !== undefined) e[k] = extra[k];
		return e;
	}

	function send(e) {
		var body = JSON.stringify(e);
		try {
			/* A string goes as text/plain: no CORS preflight. */
			if (nav.sendBeacon && nav.sendBeacon(api, body)) return;
		} catch (err) { /* fall through */ }
		try {
			w.fetch(api, {method: 'POST', body: body, keepalive: true, credentials: 'omit',
				headers: {'Content-Type': 'text/plain'}}).catch(function () {});
		} catch (err) { /* nothing more to try */ }
	}

	function pageview() {
		var url = pageUrl();
		if (url === currentUrl) return;
		flushEngagement();
		var ref = referrer ? clean(referrer.split('?')[0], 2000) : undefined;
		currentUrl = url;
		send(event('pageview', {
			referrer: ref,
			title: clean(d.title, 1000) || undefined,
			language: /^[A-Za-z0-9-]{1,35}$/.test(nav.language) ? nav.language : undefined,
			screen_width: w.screen && w.screen.width > 0 ? Math.round(w.screen.width) : undefined,
			screen_height: w.screen && w.screen.height > 0 ? Math.round(w.screen.height) : undefined
		}));
		referrer = url;
	}

	/* ---- engagement: time the page was visible ------------------------- */

	function startVisible() {
		if (!d.hidden && visibleSince === null) visibleSince = Date.now();
	}

	function flushEngagement() {
		if (visibleSince !== null) {
			visibleMs += Date.now() - visibleSince;
			visibleSince = null;
		}
		if (currentUrl && visibleMs >= 1000)
			send(event('engagement', {engagement_ms: Math.min(visibleMs, 86400000)}));
		visibleMs = 0;
		startVisible();
	}

	d.addEventListener('visibilitychange', function () {
		if (d.hidden) flushEngagement();
		else startVisible();
	});
	w.addEventListener('pagehide', flushEngagement);

	/* ---- single-page apps ---------------------------------------------- */

	function wrap(name) {
		var original = w.history[name];
		if (typeof original !== 'function') return;
		w.history[name] = function () {
			var result = original.apply(this, arguments);
			pageview();
			return result;
		};
	}
	wrap('pushState');
	wrap('replaceState');
	w.addEventListener('popstate', pageview);

	/* ---- the command API ------------------------------------------------ */

	function command(args) {
		var cmd = args[0];
		if (cmd === 'consent') consent(args[1]);
		else if (cmd === 'event' && args[1])
			send(event('event', {name: clean(args[1], 128), props: props(args[2])}));
		else if (cmd === 'pageview') pageview();
	}

	w.seula = function () {
		try {
			command(arguments);
		} catch (e) { /* never break the page */ }
	};
	w.addEventListener('seula:consent', function (e) {
		try {
			consent(e.detail);
		} catch (err) { /* never break the page */ }
	});
	for (var i = 0; i < queued.length; i++) w.seula.apply(null, queued[i]);
	startVisible();
	pageview();
})();

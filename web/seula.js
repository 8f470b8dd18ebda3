/*
 * seula.js - the Seula tracker.  No dependencies, no third-party requests.
 *
 *   <script>window.seula=window.seula||function(){(seula.q=seula.q||[]).push(arguments)}</script>
 *   <script defer src="https://stats.example.com/seula.js" data-site="mysite"></script>
 *
 * data-site  the site id configured on the server (required)
 * data-api   the collect URL (default: this script's origin + /api/collect),
 *            so a site can serve both from its own paths through a proxy
 * data-track "outbound" and/or "downloads" (space or comma apart): clicks
 *            on links to other sites send the event "Outbound Link: Click",
 *            on files (by extension, or a download attribute) "File
 *            Download", each with the link as props.url (scheme, host and
 *            path: its query string and fragment are left out, they carry
 *            tokens); none by default
 *
 * The first line is optional: it lets the page call seula(...) before this
 * script has loaded; the calls are replayed, in order, before the first
 * page view.  Under a Content-Security-Policy without 'unsafe-inline' put it
 * in a file of its own.
 *
 * What is sent, one JSON object per request (navigator.sendBeacon, or fetch
 * with keepalive when that is missing or refuses):
 *   - a page view on load, on every history.pushState and popstate that
 *     changes the URL (the fragment does not count) and every
 *     history.replaceState that changes the path (one that rewrites the
 *     query alone, as a site taking utm_* off the address or a search box
 *     writing what is typed does, is the same page), and when the page
 *     comes back from the back/forward cache;
 *     seula('pageview') counts one by hand;
 *   - engagement: the time the page was visible, when it is hidden, left
 *     (pagehide) or navigated away from in a single-page app; pages seen for
 *     less than a second send none; the events of one page view add up;
 *   - custom events: seula('event', 'signup', {plan: 'pro'}); up to 30
 *     props, keys without '=' or ';', values string, number, boolean or
 *     null, 4096 bytes in all as the server stores them (JSON, a character
 *     outside ASCII as \uXXXX); props past the limits are left out.
 *
 * Consent hook.  Until told otherwise the tracker sets no cookie and sends
 * no visitor id; the server counts the visit without cookies.  The consent
 * banner (or the site) tells it what the visitor chose, in either form:
 *   seula('consent', {analytics: true})
 *   window.dispatchEvent(new CustomEvent('seula:consent', {detail: {analytics: true}}))
 * analytics: true  reuses the first-party cookie seula_vid or creates it (a
 *                  random UUID; Path=/, SameSite=Lax, Secure on https, 365
 *                  days, not extended by later visits) and sends it as
 *                  visitor_id from then on; with create_id: false (the
 *                  banner's, which makes and records the id itself) it
 *                  only reuses one, and without it sends none.  The
 *                  server keeps the id only while a consent record (the
 *                  banner's, or POST /api/consent) names it and grants
 *                  analytics: this call alone counts the visit cookieless;
 * anything else    ({analytics: false}) deletes the cookie and sends no id;
 *                  the visit is still counted, cookieless.
 * objection: true  the visitor refused statistics (the banner's Reject all,
 *                  or statistics turned off): an objection to the counting
 *                  itself, so nothing is sent at all, not even cookieless,
 *                  until a consent call without it.
 * The banner's cookie seula_consent is read before every send too: while it
 * holds a choice refusing statistics (another tab's refusal or withdrawal,
 * before this tab's banner has heard of it) nothing is sent.
 * Tell it on every page load, before or after this script loads: it
 * remembers nothing itself.  seula('hold'), before it loads: the first page
 * view, and everything else sent before the consent call, waits for it (at
 * most HOLD_MS), so that a banner still checking a stored choice does not
 * make any of it go without the id.
 *
 * The site owner can leave their own visits out: localStorage.seula_ignore = "true".
 */
(function () {
	'use strict';
	var w = window, d = document, nav = navigator, loc = location;
	if (w.seula && w.seula.loaded) return; /* included twice */

	/* 365 days: the consent period /privacy and the banner declare by
	 * default (they cap it at 390 days, never past the consent). */
	var COOKIE = 'seula_vid', MAX_AGE = 31536000;
	var MIN_ENGAGEMENT_MS = 1000, HOLD_MS = 2000;
	var holding = false, started = false, consented = false, holdTimer = null;
	var objected = false;  /* the visitor refused statistics: nothing goes */
	var held = [];         /* what was sent while holding, in order */
	var queued = (w.seula && w.seula.q) || [];
	var site, api, track = {};

	/* Runs fn; whatever goes wrong in here stays in here. */
	function safe(fn, arg) {
		try {
			fn(arg);
		} catch (e) { /* never break the page */ }
	}

	function ignored() {
		try {
			return w.localStorage.getItem('seula_ignore') === 'true';
		} catch (e) {
			return false; /* storage blocked: counted like a cookie refusal */
		}
	}

	safe(function () {
		var script = d.currentScript || d.querySelector('script[data-site]');
		if (ignored() || !/^https?:$/.test(loc.protocol)) return;
		var given = script.getAttribute('data-api');
		api = given ? new URL(given, loc.href).href
			: new URL('/api/collect', script.src).href;
		site = script.getAttribute('data-site');
		(script.getAttribute('data-track') || '').split(/[\s,]+/)
			.forEach(function (t) { track[t.toLowerCase()] = true; });
	});
	if (!site || !api) {
		w.seula = function () {};
		return;
	}

	var visitorId = null;
	var current = null;    /* the URL of the page view being timed */
	var referrer = d.referrer;
	var visibleSince = null, visibleMs = 0;

	/* ---- text the server accepts ------------------------------------- */

	/* At most max bytes of UTF-8, control characters as spaces, broken
	 * surrogate pairs replaced: the server refuses the event otherwise. */
	function clean(s, max) {
		var out = '', bytes = 0;
		for (var ch of String(s == null ? '' : s)) {
			var c = ch.codePointAt(0);
			if (c < 32 && c !== 9 || c === 127) ch = ' ';
			else if (c >= 0xd800 && c <= 0xdfff) ch = '\ufffd', c = 0xfffd;
			bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
			if (bytes > max) break;
			out += ch;
		}
		return out;
	}

	/* The page's URL without its fragment.  A URL too long for the server
	 * keeps its path and its utm_* parameters, which the server reads. */
	function pageUrl() {
		var href = loc.href.split('#')[0];
		if (href.length <= 2048) return href;
		var u = new URL(href), keep = new URLSearchParams();
		u.searchParams.forEach(function (v, k) {
			if (/^utm_/.test(k)) keep.append(k, v.slice(0, 256));
		});
		u.search = keep.toString();
		if (u.href.length > 2048) {
			u.search = '';
			u.pathname = u.pathname.slice(0, 1024);
		}
		return u.href;
	}

	/* The bytes v takes in the props the server stores: JSON with every
	 * character outside ASCII as \uXXXX; a fraction at most as "%.17g". */
	function stored(v) {
		if (typeof v === 'number')
			return Number.isInteger(v) && Math.abs(v) < 1e21 ? String(v).length : 24;
		if (typeof v !== 'string') return String(v).length;
		var n = 2;
		for (var ch of v) {
			var c = ch.codePointAt(0);
			n += c === 34 || c === 92 || c === 9 ? 2 : c < 0x80 ? 1 : c < 0x10000 ? 6 : 12;
		}
		return n;
	}

	/* What the server takes: 30 keys without '=' or ';' (its report
	 * filters use them), 4096 bytes stored; what does not fit is left
	 * out, rather than have the whole event refused. */
	function props(p) {
		var out = {}, n = 0, bytes = 2;
		if (!p || typeof p !== 'object') return;
		Object.keys(p).forEach(function (k) {
			var v = p[k], key = clean(k, 64);
			if (n >= 30 || !key || /[=;]/.test(key)) return;
			if (typeof v === 'string') v = clean(v, 512);
			else if (!(v === null || typeof v === 'boolean' ||
				typeof v === 'number' && isFinite(v))) return;
			/* Written without an exponent, past 64 bits: not JSON the server reads. */
			if (Number.isInteger(v) && Math.abs(v) >= 9223372036854775808 && Math.abs(v) < 1e21) return;
			var size = stored(key) + 1 + stored(v) + (n ? 1 : 0);
			if (bytes + size > 4096) return;
			out[key] = v;
			bytes += size;
			n++;
		});
		return n ? out : undefined;
	}

	/* ---- sending ------------------------------------------------------- */

	/* While holding for the consent call, everything waits for it, so
	 * that what it allows (the id) goes with every event. */
	function send(type, fields) {
		var e = {site: site, type: type, url: current || pageUrl()};
		for (var k in fields)
			if (fields[k] !== undefined && fields[k] !== '') e[k] = fields[k];
		if (holding) held.push(e);
		else transmit(e);
	}

	function transmit(e) {
		/* Held before the objection was known, or sent after it; or
		 * made in another tab, which this one has not heard of yet. */
		if (objected || refused()) return;
		/* Withdrawn in another tab, the cookie is gone: so is the id. */
		if (visitorId && readCookie() !== visitorId) visitorId = null;
		if (visitorId) e.visitor_id = visitorId;
		var body = JSON.stringify(e);
		try {
			/* A string goes as text/plain: no CORS preflight. */
			if (nav.sendBeacon(api, body)) return;
		} catch (err) { /* no sendBeacon: fetch */ }
		try {
			w.fetch(api, {method: 'POST', body: body, keepalive: true,
				credentials: 'omit', headers: {'Content-Type': 'text/plain'}})
				.catch(function () {});
		} catch (err) { /* nothing more to try */ }
	}

	function pageview() {
		var url = pageUrl();
		if (url === current) return; /* same page: replaceState, a fragment */
		leave();
		current = url;
		var lang = String(nav.language || '').replace(/_/g, '-');
		var s = w.screen || {};
		send('pageview', {
			referrer: clean(referrer.split(/[?#]/)[0], 2048),
			title: clean(d.title, 1024),
			language: /^[A-Za-z0-9-]{1,35}$/.test(lang) ? lang : undefined,
			screen_width: s.width >= 1 ? Math.min(Math.round(s.width), 100000) : undefined,
			screen_height: s.height >= 1 ? Math.min(Math.round(s.height), 100000) : undefined
		});
		referrer = url; /* the next SPA page was reached from this one */
	}

	/* ---- engagement: the time the page was visible --------------------- */

	function resume() {
		if (!d.hidden && visibleSince === null) visibleSince = performance.now();
	}

	function pause() {
		if (visibleSince !== null) visibleMs += performance.now() - visibleSince;
		visibleSince = null;
	}

	/* Report the visible time so far (less than a second waits for more). */
	function flush() {
		pause();
		if (current && visibleMs >= MIN_ENGAGEMENT_MS) {
			send('engagement', {engagement_ms: Math.min(Math.round(visibleMs), 86400000)});
			visibleMs = 0;
		}
	}

	/* The page view in current ends: its last engagement, a fresh clock. */
	function leave() {
		flush();
		visibleMs = 0;
		resume();
	}

	d.addEventListener('visibilitychange', function () {
		safe(d.hidden ? flush : resume);
	});
	/* A page left while its first page view is held for the consent call
	 * still counts: it goes now, without an id, as no consent is known. */
	w.addEventListener('pagehide', function () { safe(release); safe(flush); });
	w.addEventListener('pageshow', function (e) {
		if (!e.persisted) return;
		/* Back from the back/forward cache: a new view of this page. */
		current = null;
		referrer = '';
		safe(pageview);
	});

	/* ---- single-page apps ---------------------------------------------- */

	/* A replaceState that keeps the path is the page being viewed: the
	 * server stores no query, so it would count the page twice (and a
	 * search box writing each key a view). */
	function replaced() {
		var url = pageUrl();
		if (current && url.split('?')[0] === current.split('?')[0]) current = url;
		else pageview();
	}

	/* After the app's own handlers, so the title is the new page's; quick
	 * redirects (a replaceState right after a pushState) count once. */
	var pending = null, moved = false;
	function navigated(replace) {
		moved = moved || !replace;
		clearTimeout(pending);
		pending = setTimeout(function () {
			var step = moved ? pageview : replaced;
			moved = false;
			safe(step);
		}, 0);
	}
	['pushState', 'replaceState'].forEach(function (name) {
		var original = history[name];
		if (typeof original !== 'function') return;
		history[name] = function () {
			var result = original.apply(this, arguments);
			navigated(name === 'replaceState');
			return result;
		};
	});
	w.addEventListener('popstate', function () { navigated(false); });

	/* ---- consent --------------------------------------------------------- */

	/* The page's cookies, or none where the browser refuses them outright
	 * (a sandboxed frame throws): counted then as without cookies. */
	function cookies() {
		try {
			return d.cookie;
		} catch (e) {
			return '';
		}
	}

	function readCookie() {
		var m = /(?:^|;\s*)seula_vid=([0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})(?:;|$)/
			.exec(cookies());
		return m && m[1];
	}

	/* The banner's cookie (web/consent.js, formats 1 and 2) holds a
	 * choice of the visitor's that refuses statistics: not the record
	 * Global Privacy Control made.  An objection does not lapse (the
	 * server's rule too): while the cookie is there, it holds. */
	function refused() {
		var m = /(?:^|;\s*)seula_consent=([^;]*)/.exec(cookies());
		var p = m ? m[1].split('|') : [];
		return (p[0] === '1' || p[0] === '2') && p.length >= 7 &&
			/^(accept_all|reject_all|custom|withdraw)$/.test(p[4]) &&
			p[3].split('.').indexOf('analytics') < 0;
	}

	function writeCookie(value, maxAge) {
		try {
			d.cookie = COOKIE + '=' + value + '; Path=/; Max-Age=' + maxAge +
				'; SameSite=Lax' + (loc.protocol === 'https:' ? '; Secure' : '');
		} catch (e) { /* refused outright: nothing to keep or delete */ }
	}

	/* A random (version 4) UUID; randomUUID exists only on https pages. */
	function newId() {
		var c = w.crypto;
		if (c.randomUUID) return c.randomUUID();
		var b = c.getRandomValues(new Uint8Array(16)), h = '';
		b[6] = b[6] & 0x0f | 0x40;
		b[8] = b[8] & 0x3f | 0x80;
		for (var i = 0; i < 16; i++)
			h += (i === 4 || i === 6 || i === 8 || i === 10 ? '-' : '') +
				(b[i] + 0x100).toString(16).slice(1);
		return h;
	}

	function consent(choice) {
		consented = true;
		objected = !!choice && choice.objection === true;
		if (choice && choice.analytics === true && !objected) {
			if (!readCookie() && choice.create_id !== false)
				writeCookie(newId(), MAX_AGE);
			visitorId = readCookie(); /* none if the browser refuses cookies */
		} else {
			visitorId = null;
			writeCookie('', 0);
		}
		release();
	}

	/* What was held for the consent call goes now. */
	function release() {
		if (!holding) return;
		holding = false;
		clearTimeout(holdTimer);
		var go = held;
		held = [];
		go.forEach(function (e) { safe(transmit, e); });
	}

	w.addEventListener('seula:consent', function (e) { safe(consent, e.detail); });

	/* ---- the command API ------------------------------------------------ */

	function command(args) {
		var name;
		if (args[0] === 'consent') consent(args[1]);
		else if (args[0] === 'hold') holding = holding || !started && !consented;
		else if (args[0] === 'pageview') pageview();
		else if (args[0] === 'event' && (name = clean(args[1], 128))) {
			pageview(); /* the page it happened on is counted first */
			send('event', {name: name, props: props(args[2])});
		}
	}

	/* ---- outbound links and file downloads (data-track) ----------------- */

	var FILE = /\.(pdf|docx?|xlsx?|pptx?|od[tsp]|rtf|txt|csv|json|xml|zip|rar|7z|gz|tgz|bz2|xz|dmg|exe|msi|pkg|deb|rpm|apk|iso|epub|mp3|wav|flac|mp4|mov|avi|mkv|webm)$/i;

	/* A click (or a middle click) on a link, in the capture phase: a page's
	 * own handler that stops it, or a navigation, comes after. */
	function linkClick(e) {
		if (e.type === 'auxclick' && e.button !== 1) return;
		var a = e.target && e.target.closest && e.target.closest('a');
		var href = a && (a.getAttribute('href') || a.getAttribute('xlink:href'));
		if (!href) return;
		var u = new URL(href, loc.href);
		if (!/^https?:$/.test(u.protocol)) return; /* mailto:, tel:, javascript: */
		var link = {url: u.origin + u.pathname};
		if (track.downloads && (a.hasAttribute('download') || FILE.test(u.pathname)))
			command(['event', 'File Download', link]);
		else if (track.outbound && u.host !== loc.host)
			command(['event', 'Outbound Link: Click', link]);
	}
	if (track.outbound || track.downloads)
		['click', 'auxclick'].forEach(function (type) {
			w.addEventListener(type, function (e) { safe(linkClick, e); }, true);
		});

	/* Calls before start (a prerendered page) join the queue. */
	w.seula = function () {
		if (started) safe(command, arguments);
		else queued.push(arguments);
	};
	w.seula.loaded = true;

	/* The queue is replayed once counting begins, in order; a hold in it
	 * holds from its first call, as the banner queues it after the
	 * page's own. */
	function start() {
		resume();
		if (queued.some(function (a) { return a && a[0] === 'hold'; })) command(['hold']);
		queued.forEach(function (args) { safe(command, args); });
		queued = [];
		started = true;
		if (holding) holdTimer = setTimeout(function () { safe(release); }, HOLD_MS);
		pageview();
	}
	/* A page prerendered in case the visitor opens it is counted only when
	 * they do. */
	if (d.prerendering) d.addEventListener('prerenderingchange', function () { safe(start); });
	else safe(start);
})();

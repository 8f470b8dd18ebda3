/*
 * consent.js - the Seula consent banner.  No dependencies, no third-party
 * requests; every word it shows comes from the Seula server.
 *
 *   <script src="https://stats.example.com/consent.js" data-site="mysite"></script>
 *
 * In the <head>, before any Google tag and without defer or async: Google
 * Consent Mode needs its defaults before the tag loads.
 *
 * data-site  the site id configured on the server (required)
 * data-api   the server's base URL (default: this script's origin), so a
 *            site can serve it from its own paths through a proxy
 * data-lang  the banner's language; without it the page's <html lang>, then
 *            the browser's languages, the first the server has (fi, sv, en)
 * nonce      under a nonce-based Content-Security-Policy, the script's nonce
 *            is given to the banner's <style> too
 *
 * What it does:
 *   - Google Consent Mode v2: at once, gtag('consent', 'default', ...) with
 *     all seven types denied; then gtag('consent', 'update', ...) on every
 *     choice and on every page load with a stored choice, mapped with the
 *     server's table (a granted category grants its types).
 *   - Shows the banner when the visitor has no valid choice: no cookie, a
 *     choice under another policy version or other texts (the cookie list,
 *     a purpose, any word of its language changed), an expired one, or
 *     only the record Global Privacy Control made.  Its first layer names each
 *     category asked for with the first sentence of its purpose, in a
 *     line of its own what the statistics purpose says besides (on a site
 *     that counts visits without consent, that they are counted until a
 *     choice and that refusing stops it), and the
 *     controller when the server's texts carry its name (texts.controller).
 *     Accept all, Reject all and
 *     Choose look alike; nothing is ticked in advance; a banner left alone
 *     records nothing.  Escape folds the Choose layer.  While it shows,
 *     the page's bottom padding and scroll padding grow by its height, so
 *     that no part of the page, scrolled to or focused, stays under it.
 *   - Records each choice (POST /api/consent) and, only once the server has
 *     answered 201, applies it: the seula:consent window event (the tracker
 *     listens; with objection: true when the choice refuses statistics,
 *     which stops the counting, cookieless too), a seula('consent', ...)
 *     call for a tracker not loaded yet,
 *     the Consent Mode update, the scripts waiting for it, the listeners.
 *     What a choice takes away (a withdrawal, Reject all, an unticked
 *     category), and any refusal of statistics (a first visit's too), is
 *     applied at once, before the server answers, and stored as pending
 *     until it has.
 *     A stored choice is applied the same way on every page load, once
 *     the server's config says its policy version is still current (the
 *     tracker holds its first page view for it, briefly): one under
 *     another version is never applied, not even for a moment.
 *   - Analytics granted: the seula_vid cookie (the tracker's format) exists
 *     before the record is sent, and the record names it; it lapses with
 *     the consent, never after it.  No valid choice stored: it is deleted.  Analytics denied
 *     after a grant: the record names the old id, then the cookie goes.
 *   - A persistent button (#seula-consent-reopen), or any element with
 *     data-seula-consent-open, opens it again with the visitor's choices,
 *     a Withdraw button, a link to the receipt and a Close button (Escape
 *     too): the choice stands, Save without a change records nothing, and
 *     it is not counted as the banner shown.  Closed with the focus in it,
 *     the banner gives the focus back where it was or, when it came by
 *     itself, to that button.  A site that swaps its page on navigation
 *     (Turbo's new <body>, htmx's boost) keeps the banner and the button.
 *   - Sec-GPC: marketing stays off and cannot be switched on, a stored
 *     choice's included (its marketing scripts stay waiting, Consent Mode
 *     gets its marketing types denied); a first visit
 *     records one "gpc" record (everything denied: not a choice) and the
 *     banner still asks.  DNT: 1 on a site with dnt = objection: marketing
 *     the same, without a record.  Either way a note says why, and
 *     describes the locked box.
 *   - The server unreachable: nothing shown, nothing granted.
 *   - Another tab's choice: seula_consent is read again when the page is
 *     shown or focused, and a change is applied (a withdrawal stops here
 *     too) or, without a valid choice left, the banner asks.  The tracker
 *     reads it before every send: a refusal there stops it at once.
 *   - A choice the server did not take (a network error, no answer within
 *     8 s, any status but 201 and 409): the banner says so (role="status")
 *     and stays, to be answered again.  One
 *     that takes a grant away or refuses statistics still holds at once,
 *     stored as pending: the
 *     record is sent again, naming the visitor id it stops, on the next
 *     page load or with the next choice, until the server has it.
 *
 * Scripts that wait for a category (several: all of them), activated once
 * it is granted, once each:
 *   <script type="text/plain" data-seula-category="marketing" src="/ads.js"></script>
 *   <script type="text/plain" data-seula-category="analytics">...</script>
 * (data-seula-type="module" gives the activated script that type.)
 *
 * The JS API:
 *   seulaConsent.get()               {necessary, analytics, marketing,
 *                                    personalization, receipt, policy_version,
 *                                    method}, or null without a valid choice
 *   seulaConsent.on('change', fn)    fn(seulaConsent.get()) after each change
 *   seulaConsent.off('change', fn)
 *   seulaConsent.open()              the banner, as the reopen button opens it
 *   seulaConsent.withdraw()          everything denied, recorded; a Promise of
 *                                    true once the server has it
 *
 * The cookie (first-party, Path=/, SameSite=Lax, Secure on https, Max-Age
 * the site's consent period) holds the latest record, '|'-separated:
 *
 *   seula_consent=2|RECEIPT|POLICY|GRANTED|METHOD|EXPIRES|GCM|TEXTS[|PENDING]
 *   2         the format (1, from before TEXTS, is read, and asked again)
 *   RECEIPT   the server's receipt id of the record
 *   POLICY    the policy version it was given under, URI-encoded
 *   GRANTED   the categories granted besides necessary, '.'-separated, or
 *             '-' for none; every other category of the site was denied
 *   METHOD    accept_all, reject_all, custom, withdraw, or gpc (the record
 *             Global Privacy Control made: not a choice, the banner asks)
 *   EXPIRES   when it lapses, seconds since the epoch (the browser's clock)
 *   GCM       the Consent Mode values sent with it, g(ranted) or d(enied) for
 *             ad_storage, ad_user_data, ad_personalization, analytics_storage,
 *             functionality_storage, personalization_storage, security_storage
 *   TEXTS     the language and texts_hash of the banner the choice was
 *             given under, '~'-separated: a choice whose language's texts
 *             have changed since is asked again
 *   PENDING   only while the server has not taken the record (RECEIPT 0):
 *             its source, '~' and the visitor id it names (or nothing)
 *
 *   seula_consent=2|5f0c...|2026-11-01|analytics|custom|1795600800|dddgddg|fi~9b1e...
 */
(function () {
	'use strict';
	var w = window, d = document, nav = navigator, loc = location;
	if (w.seulaConsent) return; /* included twice */

	var GCM_TYPES = ['ad_storage', 'ad_user_data', 'ad_personalization',
		'analytics_storage', 'functionality_storage', 'personalization_storage',
		'security_storage'];
	/* The server's usual table, for a stored choice without its own. */
	var GCM_MAP = {ad_storage: 'marketing', ad_user_data: 'marketing',
		ad_personalization: 'marketing', analytics_storage: 'analytics',
		functionality_storage: 'personalization',
		personalization_storage: 'personalization', security_storage: 'necessary'};
	var METHODS = ['accept_all', 'reject_all', 'custom', 'withdraw', 'gpc'];
	var COOKIE = 'seula_consent';
	var VID = 'seula_vid', VID_MAX_AGE = 33696000; /* the server's cap, 390 days */
	var RECORD_TIMEOUT = 8000; /* ms a record may take before it has failed */

	/* Runs fn; whatever goes wrong in here stays in here. */
	function safe(fn, a, b) {
		try {
			return fn(a, b);
		} catch (e) { /* never break the page */ }
	}

	/* ---- Google Consent Mode: the defaults, before anything else ------- */

	function gtag() {
		w.dataLayer.push(arguments); /* gtag.js reads arguments objects */
	}

	safe(function () {
		w.dataLayer = w.dataLayer || [];
		var defaults = {};
		GCM_TYPES.forEach(function (t) { defaults[t] = 'denied'; });
		defaults.wait_for_update = 500;
		gtag('consent', 'default', defaults);
	});

	var site, api, script, nonce;
	safe(function () {
		script = d.currentScript || d.querySelector('script[data-site][src*="consent"]');
		/* A nonce-based CSP allows the banner's style by the script's nonce. */
		nonce = script.nonce || script.getAttribute('nonce') || null;
		if (!/^https?:$/.test(loc.protocol)) return; /* no cookies to keep */
		var given = script.getAttribute('data-api');
		api = new URL(given || '/', given ? loc.href : script.src).href.replace(/\/+$/, '');
		site = script.getAttribute('data-site');
	});

	var cfg = null;        /* the server's config, once it answered */
	var stored = null;     /* the cookie's record, parsed */
	/* A refusal of statistics given under an older policy or texts: the
	 * banner asks again, and until it is answered the objection stands
	 * (its cookie kept, the tracker told), as the server's gate holds it. */
	var objecting = false;
	var current = null;    /* the granted categories in effect, or null */
	var listeners = [];
	var formerId = null;   /* a visitor id this page withdrew */
	var seen = null;       /* seula_consent as this page last wrote or read it */
	var seq = 0;           /* counts choices, so a late answer cannot undo one */
	var pendingOpen = false;
	var root = null, reopen = null, source = 'banner', returnTo = null, busy = false;

	/* ---- cookies --------------------------------------------------------- */

	function setCookie(name, value, maxAge) {
		d.cookie = name + '=' + value + '; Path=/; Max-Age=' + maxAge +
			'; SameSite=Lax' + (loc.protocol === 'https:' ? '; Secure' : '');
		if (name === COOKIE) seen = rawStored();
	}

	function rawStored() {
		var m = /(?:^|;\s*)seula_consent=([^;]*)/.exec(d.cookie);
		return m ? m[1] : '';
	}

	function readVid() {
		var m = /(?:^|;\s*)seula_vid=([0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})(?:;|$)/
			.exec(d.cookie);
		return m && m[1];
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

	/* The cookie's record (see the top of this file), or null. */
	function readStored() {
		var m = /(?:^|;\s*)seula_consent=([^;]*)/.exec(d.cookie);
		var p = m ? m[1].split('|') : [];
		/* Format 2 has the texts after GCM; without them it is format 1's. */
		var texts = p[0] === '2' &&
			/^([A-Za-z0-9-]{1,16})~([0-9a-f]{64})$/.exec(p.splice(7, 1)[0] || '');
		var pending = p.length === 8 &&
			/^(banner|preference_link|api)~([0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})?$/.exec(p[7]);
		if (p.length !== 7 && !pending || p[0] !== '1' && !texts || !/^[A-Za-z0-9-]{1,64}$/.test(p[1]) ||
			!/^(-|[a-z0-9_]+(\.[a-z0-9_]+)*)$/.test(p[3]) || METHODS.indexOf(p[4]) < 0 ||
			!/^[0-9]{1,12}$/.test(p[5]) || !/^[gd]{7}$/.test(p[6])) return null;
		var granted = {}, gcm = {};
		if (p[3] !== '-') p[3].split('.').forEach(function (c) { granted[c] = true; });
		GCM_TYPES.forEach(function (t, i) { gcm[t] = p[6][i] === 'g' ? 'granted' : 'denied'; });
		return {receipt: p[1], policy: decodeURIComponent(p[2]), granted: granted,
			method: p[4], expires: p[5] * 1000, gcm: gcm,
			texts: texts ? {lang: texts[1], hash: texts[2]} : null,
			pending: pending ? {source: pending[1], vid: pending[2] || ''} : null};
	}

	/* The id needs the consent: it never outlives the stored one (or,
	 * before there is one, the consent period). */
	function vidMaxAge() {
		var left = stored ? Math.round((stored.expires - Date.now()) / 1000)
			: (cfg && cfg.consent_period_days > 0 ? cfg.consent_period_days : 365) * 86400;
		return Math.max(0, Math.min(VID_MAX_AGE, left));
	}

	function writeStored(s) {
		var granted = Object.keys(s.granted).filter(function (c) {
			return s.granted[c] && /^[a-z0-9_]+$/.test(c);
		});
		objecting = false;
		setCookie(COOKIE, ['2', s.receipt, encodeURIComponent(s.policy),
			granted.join('.') || '-', s.method, Math.floor(s.expires / 1000),
			GCM_TYPES.map(function (t) { return s.gcm[t] === 'granted' ? 'g' : 'd'; }).join(''),
			s.texts.lang + '~' + s.texts.hash
		].concat(s.pending ? [s.pending.source + '~' + s.pending.vid] : []).join('|'),
		Math.round((s.expires - Date.now()) / 1000));
		stored = s;
	}

	/* A choice of the visitor's in force: GPC's record is none, and one
	 * under an older policy, or other texts, is none once the server has
	 * said so. */
	function valid(s) {
		return !!s && s.method !== 'gpc' && s.expires > Date.now() &&
			(!cfg || s.policy === cfg.policy_version && textsCurrent(s));
	}

	/* Given under the texts its language has now: a changed cookie list,
	 * purpose or wording asks again, as a new policy version does (the
	 * server warns that the version should have been bumped).  A choice
	 * stored before the banner kept its texts cannot say which it was
	 * given under: asked again, once. */
	function textsCurrent(s) {
		var now = cfg.texts_hashes;
		return !!s.texts && !!now && now[s.texts.lang] === s.texts.hash;
	}

	/* ---- applying a state -------------------------------------------------- */

	function offered() {
		var list = cfg && Array.isArray(cfg.categories) ? cfg.categories
			: ['necessary', 'analytics', 'marketing', 'personalization'];
		return list.filter(function (c) {
			return typeof c === 'string' && c !== 'necessary' && /^[a-z0-9_]{1,32}$/.test(c);
		});
	}

	function gcmFor(granted) {
		var map = cfg && cfg.google_consent_mode || GCM_MAP, out = {};
		GCM_TYPES.forEach(function (t) {
			var c = map[t] || GCM_MAP[t];
			out[t] = c === 'necessary' || granted[c] === true ? 'granted' : 'denied';
		});
		return out;
	}

	function detailOf(granted) {
		return {necessary: true, analytics: granted.analytics === true,
			marketing: granted.marketing === true,
			personalization: granted.personalization === true};
	}

	function get() {
		if (!valid(stored) || !current) return null;
		var out = detailOf(current);
		out.receipt = stored.receipt;
		out.policy_version = stored.policy;
		out.method = stored.method;
		return out;
	}

	/* Tells the page what is granted: the tracker, Google's tags, the
	 * waiting scripts and, when fire, the API's listeners. */
	function apply(granted, gcm, fire) {
		current = granted;
		var detail = detailOf(granted);
		/* The id is the banner's: made, recorded and timed to the consent
		 * with a choice.  A grant applied without one (the cookie cleared
		 * alone) counts cookieless: an id the tracker made would be named
		 * by no record, and outlive the consent. */
		detail.create_id = false;
		/* Refusing statistics objects to the counting itself, without
		 * cookies too: the tracker sends nothing.  Only the visitor's
		 * own choice: GPC's record is none, and without a choice the
		 * site's without_consent decides. */
		detail.objection = objecting ||
			(!!stored && stored.method !== 'gpc' && stored.granted.analytics !== true);
		/* A tracker not loaded yet (it is deferred) replays its queue
		 * before its first page view; a loaded one hears the event. */
		safe(function () {
			if (w.seula && w.seula.loaded) return;
			w.seula = w.seula || function () { (w.seula.q = w.seula.q || []).push(arguments); };
			w.seula('consent', detail);
		});
		safe(function () {
			w.dispatchEvent(new CustomEvent('seula:consent', {detail: detail}));
		});
		safe(function () { gtag('consent', 'update', gcm); });
		safe(activate);
		if (fire) {
			var state = get();
			listeners.slice().forEach(function (fn) { safe(fn, state); });
		}
	}

	/* The stored choice, as far as it may hold: an objection (GPC) keeps
	 * marketing off whatever was stored, as the banner shows it. */
	function applyStored(fire) {
		var granted = {}, gcm = {};
		var map = cfg && cfg.google_consent_mode || GCM_MAP;
		var off = objected() && stored.granted.marketing === true;
		Object.keys(stored.granted).forEach(function (c) { granted[c] = stored.granted[c]; });
		if (off) granted.marketing = false;
		GCM_TYPES.forEach(function (t) {
			gcm[t] = off && (map[t] || GCM_MAP[t]) === 'marketing' ? 'denied' : stored.gcm[t];
		});
		apply(granted, gcm, fire);
	}

	/* The scripts waiting for categories that are now all granted. */
	function activate() {
		if (!current) return;
		var waiting = d.querySelectorAll('script[type="text/plain"][data-seula-category]');
		Array.prototype.forEach.call(waiting, function (old) {
			var needs = old.getAttribute('data-seula-category').split(/[\s,]+/).filter(Boolean);
			if (!needs.length || !needs.every(function (c) {
				return c === 'necessary' || current[c] === true;
			})) return;
			var s = d.createElement('script');
			Array.prototype.forEach.call(old.attributes, function (a) {
				if (a.name !== 'type') s.setAttribute(a.name, a.value);
			});
			if (old.getAttribute('data-seula-type')) s.type = old.getAttribute('data-seula-type');
			if (!old.hasAttribute('src')) s.text = old.text;
			s.async = old.hasAttribute('async'); /* in document order otherwise */
			old.parentNode.replaceChild(s, old);
		});
	}

	/* The stored choice no longer counts: everything denied, as before
	 * any choice, and the visitor id gone (kept in memory for the record
	 * of the next denial, so that the server stops accepting it). */
	function forget(vid, keepCookie) {
		formerId = vid || readVid() || formerId;
		if (!keepCookie) setCookie(COOKIE, '', 0);
		setCookie(VID, '', 0);
		stored = null;
		var gcm = {};
		GCM_TYPES.forEach(function (t) { gcm[t] = 'denied'; });
		apply(allDenied(), gcm, true);
	}

	function allDenied() {
		var g = {};
		offered().forEach(function (c) { g[c] = false; });
		return g;
	}

	/* ---- talking to the server -------------------------------------------- */

	/* Resolves to {status, body}; a string body goes as text/plain, which
	 * needs no CORS preflight. */
	function call(method, path, body, fresh) {
		var opts = {method: method, credentials: 'omit', cache: fresh ? 'no-cache' : 'default'};
		var timer = null;
		if (body) {
			opts.body = JSON.stringify(body);
			opts.headers = {'Content-Type': 'text/plain'};
			opts.keepalive = path === '/api/consent/shown';
		}
		/* A record the server does not answer in time fails, as one it
		 * refused does: the banner says so and can be asked again, and
		 * a denial in it is owed (sent again with the next choice or
		 * page load; the server takes it once). */
		if (path === '/api/consent' && w.AbortController) {
			var ac = new w.AbortController();
			opts.signal = ac.signal;
			timer = setTimeout(function () { ac.abort(); }, RECORD_TIMEOUT);
		}
		var done = function (v) {
			clearTimeout(timer);
			return v;
		};
		return w.fetch(api + path, opts).then(function (r) {
			return r.text().then(function (text) {
				var json = null;
				try {
					json = JSON.parse(text);
				} catch (e) { /* not JSON: the status says enough */ }
				return {status: r.status, body: json};
			});
		}).then(done, function (e) {
			done();
			throw e;
		});
	}

	function primary(tag) {
		return String(tag || '').toLowerCase().split(/[-_]/)[0];
	}

	/* data-lang, <html lang>, then the browser's: the first the server has. */
	function wantedLanguages() {
		var list = [script.getAttribute('data-lang'), d.documentElement.getAttribute('lang')]
			.concat(nav.languages && nav.languages.length ? nav.languages : [nav.language]);
		return list.map(primary).filter(function (l) { return /^[a-z]{2,3}$/.test(l); });
	}

	function fetchConfig(lang, fresh) {
		return call('GET', '/api/consent/config?site=' + encodeURIComponent(site) +
			(lang ? '&lang=' + encodeURIComponent(lang) : ''), null, fresh)
			.then(function (r) {
				var c = r.body;
				if (r.status !== 200 || !c || !c.texts || !c.policy_version) throw new Error('config');
				return c;
			});
	}

	/* The config in the best language: asked first in the one wanted most;
	 * asked again when the server has another of the visitor's. */
	function loadConfig(fresh) {
		var wanted = wantedLanguages();
		return fetchConfig(wanted[0], fresh).then(function (c) {
			var have = Array.isArray(c.languages) ? c.languages.map(primary) : [];
			var best = wanted.filter(function (l) { return have.indexOf(l) >= 0; })[0];
			return best && best !== primary(c.language) ? fetchConfig(best, fresh) : c;
		});
	}

	function gpcOn() {
		return !!cfg && cfg.gpc === true || nav.globalPrivacyControl === true;
	}

	/* Marketing cannot be chosen: GPC, or DNT where the site counts it as
	 * an objection too (the server records marketing denied). */
	function objected() {
		return gpcOn() || !!cfg && cfg.dnt === 'objection' &&
			(nav.doNotTrack === '1' || w.doNotTrack === '1');
	}

	/* The page the choice was made on: scheme, host and path, which is
	 * all the server keeps; a query, a fragment or a path parameter
	 * (";jsessionid=", a token, an address) never leaves the page. */
	function pageUrl() {
		var path = loc.pathname.replace(/;[^\/]*/g, '') || '/';
		return (loc.origin + path).slice(0, 2048);
	}

	function record(method, granted, src, givenAt) {
		var decisions = {}, preselected = {}, vid = readVid(), made = false;
		/* The id a denial the server has not taken yet stops: named by
		 * this record instead, whatever it says. */
		var owed = stored && stored.pending ? stored.pending.vid : '';
		offered().forEach(function (c) {
			decisions[c] = granted[c] === true;
			preselected[c] = false;
		});
		if (objected() && 'marketing' in decisions)
			decisions.marketing = false; /* recorded denied anyway */
		if (decisions.analytics) {
			if (!vid) {
				/* The owed id, granted again, rather than a new one
				 * beside it that the server still counts as granted. */
				setCookie(VID, owed || newId(), vidMaxAge());
				made = true;
			}
			vid = readVid(); /* none if the browser refuses cookies */
		} else {
			vid = vid || formerId || owed; /* the id this denial stops */
		}
		var body = {site: site, policy_version: cfg.policy_version, texts_hash: cfg.texts_hash,
			language: cfg.language, decisions: decisions, preselected: preselected,
			method: method, source: src, given_at: givenAt || Date.now(),
			page: pageUrl(), gcm: gcmFor(decisions)};
		if (vid) body.visitor_id = vid;
		return {body: body, vid: vid, made: made, reply: call('POST', '/api/consent', body)};
	}

	/* The texts a record was given under, as the cookie keeps them. */
	function textsOf(sent) {
		return {lang: sent.body.language, hash: sent.body.texts_hash};
	}

	/* The server has the record: keep it, then apply it. */
	function recorded(sent, reply) {
		var granted = {}, said = reply && reply.decisions || {};
		Object.keys(sent.body.decisions).forEach(function (c) {
			/* The server may only take away (GPC, an objection). */
			granted[c] = sent.body.decisions[c] && said[c] !== 'denied';
		});
		var gcm = gcmFor(granted);
		var receipt = reply && /^[A-Za-z0-9-]{1,64}$/.test(reply.receipt) ? reply.receipt : '0';
		writeStored({receipt: receipt, policy: cfg.policy_version, granted: granted,
			method: sent.body.method,
			expires: Date.now() + period() * 86400000, gcm: gcm, texts: textsOf(sent)});
		if (!granted.analytics) {
			formerId = sent.vid || formerId;
			setCookie(VID, '', 0);
		} else if (sent.vid) {
			/* A renewed grant renews the id's cookie: otherwise it would
			 * lapse a month into the new consent, and its successor would
			 * have no record. */
			setCookie(VID, sent.vid, vidMaxAge());
		}
		return {granted: granted, gcm: gcm};
	}

	/* A choice: recorded first, applied once the server has it; what it
	 * takes away holds at once, before the server answers. */
	function choose(method, granted, src) {
		if (busy || !cfg) return Promise.resolve(false);
		var before = current;
		var sent = safe(function () { return record(method, granted, src); });
		if (!sent) return Promise.resolve(false);
		busy = true;
		seq++;
		setBusy(true);
		status('');
		/* A grant taken away (or an id stopped) does not wait for the
		 * server, however slow: in force now and stored as pending,
		 * owed until the server has it.  So does a refusal of
		 * statistics, a first visit's too: an objection to the
		 * counting, which must stop now and not be lost. */
		var takes = before && Object.keys(before).some(function (c) {
			return before[c] && !sent.body.decisions[c];
		}) || !!sent.vid && !sent.body.decisions.analytics ||
			sent.body.decisions.analytics === false;
		if (takes) safe(owe, sent, before);
		var held = current;
		return sent.reply.then(function (r) {
			busy = false;
			/* Not recorded: an id made for this record is not needed. */
			if (r.status !== 201 && sent.made) setCookie(VID, '', 0);
			if (r.status === 201) {
				var now = recorded(sent, r.body);
				close();
				/* Told once: what the denial applied already stands. */
				if (!takes || !sameGrants(held, now.granted)) apply(now.granted, now.gcm, true);
				showReopen();
				return true;
			}
			if (r.status === 409) { /* stale_policy: the texts the visitor saw are not current */
				close();
				start(src, true);
				return false;
			}
			throw new Error('consent ' + r.status);
		}).catch(function () {
			busy = false;
			setBusy(false);
			if (sent.made) setCookie(VID, '', 0);
			/* Not recorded (refused, unreachable, or too slow): what it
			 * took away holds and stays owed, to be sent again. */
			status(fallback('save_failed'));
			return false;
		});
	}

	function sameGrants(a, b) {
		return !!a && !!b && offered().every(function (c) { return (a[c] === true) === (b[c] === true); });
	}

	/* A denial the server has not taken: in force and stored as pending.
	 * Only the denial: what the same choice grants anew waits for a
	 * record, so it is neither applied nor sent again.  Its time is the
	 * record's, so that sent again it is the same choice to the server. */
	function owe(sent, before) {
		var granted = {};
		Object.keys(sent.body.decisions).forEach(function (c) {
			granted[c] = sent.body.decisions[c] && !!before && before[c] === true;
		});
		var gcm = gcmFor(granted);
		writeStored({receipt: '0', policy: cfg.policy_version, granted: granted,
			method: sent.body.method, expires: sent.body.given_at + period() * 86400000, gcm: gcm,
			texts: textsOf(sent), pending: {source: sent.body.source, vid: sent.vid || ''}});
		if (!granted.analytics) {
			formerId = sent.vid || formerId;
			setCookie(VID, '', 0);
		}
		apply(granted, gcm, true);
	}

	/* The pending record sent again, as it was given. */
	function settle() {
		var mine = seq, s = stored;
		var sent = record(s.method, s.granted, s.pending.source, s.expires - period() * 86400000);
		sent.reply.then(function (r) {
			if (r.status !== 201 && sent.made) setCookie(VID, '', 0);
			if (r.status !== 201 || mine !== seq) return; /* a choice came first */
			recorded(sent, r.body);
		}).catch(function () {
			if (sent.made) setCookie(VID, '', 0);
			/* sent again next time */
		});
	}

	function period() {
		return cfg.consent_period_days > 0 ? cfg.consent_period_days : 365;
	}

	/* GPC on a first visit: one record, everything denied (GPC is never
	 * consent); the banner still asks. */
	function recordGpc() {
		var mine = seq;
		var sent = record('gpc', allDenied(), 'banner');
		sent.reply.then(function (r) {
			if (r.status !== 201 || mine !== seq) return; /* a choice came first */
			var now = recorded(sent, r.body);
			apply(now.granted, now.gcm, false);
		}).catch(function () { /* asked again next time */ });
	}

	/* ---- the banner -------------------------------------------------------- */

	var CSS = [
		'.seula-consent{position:fixed;left:0;right:0;bottom:0;z-index:2147483000;',
		'box-sizing:border-box;max-width:50rem;max-height:85vh;overflow:auto;margin:0 auto;',
		'padding:1rem 1.25rem 1.1rem;background:#fff;color:#1a1f29;color-scheme:light;',
		'border:1px solid #5c6675;border-bottom:0;border-radius:.6rem .6rem 0 0;',
		'box-shadow:0 -.25rem 1.5rem rgba(0,0,0,.25);text-align:start;',
		'font:400 max(15px,1rem)/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}',
		'.seula-consent:focus{outline:none}',
		'.seula-consent *,.seula-consent *::before,.seula-consent *::after{box-sizing:border-box}',
		/* A host page's sweeping rules (* {text-transform:uppercase},
		 * input[type=checkbox] {display:none}) stop at the banner. */
		'.seula-consent,.seula-consent *,.seula-consent__reopen{text-transform:none;letter-spacing:normal;',
		'word-spacing:normal;text-indent:0;text-shadow:none;font-style:normal;float:none}',
		'.seula-consent [hidden]{display:none!important}',
		'.seula-consent .seula-consent__title{margin:0 0 .4rem;padding:0;font:inherit;',
		'font-size:1.15em;font-weight:700;line-height:1.3;color:inherit}',
		'.seula-consent .seula-consent__text{margin:0 0 .5rem;padding:0;color:inherit}',
		'.seula-consent .seula-consent__note{margin:0 0 .5rem;padding:.4rem .6rem;',
		'border-inline-start:4px solid #1d4e89;background:#eef3fa;color:#1a1f29}',
		'.seula-consent .seula-consent__summary{margin:0 0 .5rem;padding:0;list-style:none;',
		'font-size:.9em;line-height:1.4}',
		'.seula-consent .seula-consent__summary-item{margin:0 0 .15rem;padding:0}',
		'.seula-consent .seula-consent__summary-name{font-weight:600}',
		'.seula-consent .seula-consent__counting{font-size:.9em;line-height:1.4}',
		'.seula-consent .seula-consent__link{color:#0b57d0;text-decoration:underline}',
		'.seula-consent .seula-consent__links>*+*{margin-inline-start:1rem}',
		'.seula-consent .seula-consent__categories{margin:.5rem 0 0;padding:0;list-style:none}',
		'.seula-consent .seula-consent__category{margin:0;padding:.6rem 0;border-top:1px solid #c4cad3}',
		'.seula-consent .seula-consent__head{display:flex;align-items:center;gap:.6rem;',
		'font-weight:600}',
		'.seula-consent .seula-consent__checkbox{display:inline-block;position:static;flex:none;',
		'width:1.25rem;height:1.25rem;margin:0;padding:0;opacity:1;visibility:visible;',
		'-webkit-appearance:checkbox;appearance:auto;accent-color:#1d4e89;cursor:pointer}',
		'.seula-consent .seula-consent__checkbox:disabled{cursor:not-allowed}',
		'.seula-consent .seula-consent__name{font:inherit;font-weight:600;color:inherit;cursor:pointer}',
		'.seula-consent .seula-consent__always-on{margin-inline-start:auto;font-weight:400;font-size:.9em}',
		'.seula-consent .seula-consent__purpose{margin:.2rem 0 .4rem;padding:0}',
		'.seula-consent .seula-consent__cookies{width:100%;table-layout:fixed;border-collapse:collapse;',
		'font-size:.88em;color:inherit;background:transparent}',
		'.seula-consent .seula-consent__cookies th:first-child{width:55%}',
		'.seula-consent .seula-consent__cookies th,.seula-consent .seula-consent__cookies td{',
		'padding:.2rem .4rem;border:0;border-bottom:1px solid #d5dae1;text-align:start;',
		'vertical-align:top;font-weight:400;color:inherit;background:transparent}',
		'.seula-consent .seula-consent__cookies th{font-weight:600}',
		'.seula-consent .seula-consent__cookie-name{font-family:ui-monospace,Menlo,Consolas,monospace}',
		'.seula-consent .seula-consent__buttons{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:.75rem}',
		/* One look for every choice: none is the easy way out. */
		'.seula-consent .seula-consent__button{flex:1 1 10rem;margin:0;min-height:2.75rem;',
		'padding:.55rem 1rem;font:inherit;font-weight:600;line-height:1.3;',
		'text-transform:none;letter-spacing:normal;color:#fff;background:#1d4e89;',
		'border:2px solid #1d4e89;border-radius:.4rem;box-shadow:none;cursor:pointer}',
		'.seula-consent .seula-consent__button:hover{text-decoration:underline}',
		'.seula-consent .seula-consent__button:disabled{cursor:wait;opacity:.75}',
		'.seula-consent :focus-visible,.seula-consent__reopen:focus-visible{',
		'outline:3px solid #1a1f29;outline-offset:2px}',
		'.seula-consent__reopen{position:fixed;inset-inline-start:1rem;bottom:1rem;z-index:2147482999;margin:0;',
		'padding:.4rem .9rem;font:600 max(14px,.9rem)/1.3 system-ui,-apple-system,"Segoe UI",',
		'Roboto,sans-serif;color:#1d4e89;background:#fff;border:2px solid #1d4e89;',
		'border-radius:1.5rem;box-shadow:0 .1rem .5rem rgba(0,0,0,.2);cursor:pointer}',
		'.seula-consent__reopen:hover{text-decoration:underline}',
		/* It floats over the page, whatever its colour: a light ring
		 * around the dark one shows on a dark page too. */
		'.seula-consent__reopen:focus-visible{box-shadow:0 0 0 2px #fff,0 0 0 7px #fff}',
		'.seula-consent .seula-consent__status{margin:.5rem 0 0;padding:0;font-weight:600;color:#a4161a}',
		'.seula-consent .seula-consent__status:empty{margin:0}',
		'@media (max-width:30rem){.seula-consent .seula-consent__button{flex-basis:100%}',
		/* The first layer's three side by side even so: its purposes
		 * take the room, and the page above keeps some. */
		'.seula-consent.seula-consent--first .seula-consent__button{flex:1 1 0;min-width:0;',
		'padding-left:.4rem;padding-right:.4rem;overflow-wrap:anywhere}',
		'.seula-consent.seula-consent--first{max-height:75vh}}',
		/* However long its words (a signal's note too), the first layer's
		 * answers stay in view: its text scrolls behind them. */
		'.seula-consent.seula-consent--first .seula-consent__buttons{position:sticky;bottom:-1.1rem;',
		'margin-bottom:-1.1rem;padding-bottom:1.1rem;background:#fff}',
		/* A printed page is the page: the banner would cover its end. */
		'@media print{.seula-consent,.seula-consent__reopen{display:none!important}}'
	].join('');

	/* The texts' own reading direction, not the host page's: a
	 * right-to-left page would mirror a Finnish banner. */
	function direction() {
		return /^(ar|dv|fa|he|ku|ps|sd|ug|ur|yi)(-|$)/i.test(cfg.language || '') ? 'rtl' : 'ltr';
	}

	function el(tag, attrs, kids) {
		var e = d.createElement(tag);
		Object.keys(attrs || {}).forEach(function (k) {
			if (attrs[k] === true) e.setAttribute(k, '');
			else if (attrs[k] != null && attrs[k] !== false) e.setAttribute(k, attrs[k]);
		});
		(kids || []).forEach(function (k) {
			if (k != null) e.appendChild(typeof k === 'string' ? d.createTextNode(k) : k);
		});
		return e;
	}

	function text(key) {
		var v = cfg.texts[key];
		return typeof v === 'string' ? v : '';
	}

	/* The server's words for these; these only when its texts lack them
	 * (a texts file written before them, or a server that does not pass
	 * them on yet), in the banner's language (English otherwise): the
	 * same words as core/consent_texts.json. */
	var FALLBACK = {
		save_failed: {en: 'Your choice could not be saved. Please try again.',
			fi: 'Valintaasi ei voitu tallentaa. Yritä uudelleen.',
			sv: 'Ditt val kunde inte sparas. Försök igen.'},
		close: {en: 'Close', fi: 'Sulje', sv: 'Stäng'},
		controller_label: {en: 'Data controller', fi: 'Rekisterinpitäjä', sv: 'Personuppgiftsansvarig'},
		dnt_note: {en: 'Your browser sends the Do Not Track signal. We treat it as an objection to ' +
			'marketing: marketing cookies stay off. You can choose the other categories yourself.',
		fi: 'Selaimesi lähettää Do Not Track -signaalin. Käsittelemme sen markkinoinnin ' +
			'vastustamisena: markkinointievästeet pysyvät pois päältä. Muista luokista voit valita itse.',
		sv: 'Din webbläsare skickar signalen Do Not Track. Vi behandlar den som en invändning mot ' +
			'marknadsföring: marknadsföringskakor förblir avstängda. De andra kategorierna kan du välja själv.'}
	};

	function fallback(key) {
		return text(key) || FALLBACK[key][primary(cfg.language)] || FALLBACK[key].en;
	}

	/* What the banner says about the last choice, read out politely. */
	function status(message) {
		var s = root && root.querySelector('#seula-consent-status');
		if (s) s.textContent = message;
	}

	/* Only http(s) addresses become links. */
	function href(url) {
		var u = safe(function () { return new URL(url, api + '/'); });
		return u && /^https?:$/.test(u.protocol) ? u.href : null;
	}

	function injectStyle() {
		if (d.getElementById('seula-consent-style')) return;
		var style = el('style', {id: 'seula-consent-style', nonce: nonce}, [CSS]);
		(d.head || d.documentElement).appendChild(style);
	}

	function category(id, info, checked, gpc, locked) {
		var required = id === 'necessary' || info.required === true;
		var box = 'seula-consent-' + id, purpose = box + '-purpose';
		var head = required
			? el('div', {'class': 'seula-consent__head'}, [
				el('span', {'class': 'seula-consent__name', id: box + '-name'}, [info.name || id]),
				el('span', {'class': 'seula-consent__always-on'}, [text('always_on')])])
			: el('div', {'class': 'seula-consent__head'}, [
				el('input', {type: 'checkbox', id: box, 'class': 'seula-consent__checkbox',
					name: id, value: 'granted', 'data-category': id,
					/* Why it cannot be ticked: the signal's note. */
					'aria-describedby': purpose + (locked && id === 'marketing'
						? (gpc ? ' seula-consent-gpc' : ' seula-consent-dnt') : ''),
					checked: !locked || id !== 'marketing' ? checked : false,
					disabled: locked && id === 'marketing'}),
				el('label', {'for': box, 'class': 'seula-consent__name', id: box + '-name'},
					[info.name || id])]);
		var cookies = Array.isArray(info.cookies) ? info.cookies : [];
		var table = cookies.length ? el('table', {'class': 'seula-consent__cookies',
			'aria-labelledby': box + '-name'}, [
			el('thead', {}, [el('tr', {}, ['cookie_name', 'cookie_duration', 'cookie_provider']
				.map(function (k) { return el('th', {scope: 'col'}, [text(k)]); }))]),
			el('tbody', {}, cookies.map(function (c) {
				return el('tr', {}, [
					el('td', {}, [el('span', {'class': 'seula-consent__cookie-name'}, [String(c.name || '')]),
						c.purpose ? el('span', {'class': 'seula-consent__cookie-purpose'},
							[' – ' + c.purpose]) : null]),
					el('td', {}, [String(c.duration || '')]),
					el('td', {}, [String(c.provider || '')])]);
			}))]) : null;
		return el('li', {'class': 'seula-consent__category seula-consent__category--' + id}, [
			head,
			el('p', {'class': 'seula-consent__purpose', id: purpose}, [info.purpose || '']),
			table]);
	}

	/* The banner in the DOM; reopened: the choices filled in, Withdraw and
	 * the receipt too. */
	function render(reopened) {
		var gpc = gpcOn(), locked = objected(), mine = reopened && valid(stored) && current;
		var infos = {};
		(Array.isArray(cfg.texts.categories) ? cfg.texts.categories : []).forEach(function (c) {
			if (c && typeof c.id === 'string') infos[c.id] = c;
		});
		var ids = ['necessary'].concat(offered());
		var privacy = href(cfg.privacy_url);
		var stats = offered().indexOf('analytics') >= 0 && cfg.mode !== 'exempt' &&
			infos.analytics ? String(infos.analytics.purpose || '') : '';
		/* The server names it apart (texts.analytics_without_consent);
		 * from an older server, the purpose's sentences after its first. */
		var note = cfg.texts.analytics_without_consent;
		var counting = !stats ? '' : typeof note === 'string' ? note.trim()
			: stats.slice(brief(stats).length).trim();
		/* Who asks: the controller's name, when the server's texts have it. */
		var controller = typeof cfg.texts.controller === 'string' && cfg.texts.controller.trim();
		/* A page that reads the record in the visitor's language; the
		 * id after '#', which no request or Referer carries. */
		var receipt = mine && stored.receipt !== '0'
			? api + '/consent/receipt/#' + encodeURIComponent(stored.receipt) : null;
		function button(id, key, hidden) {
			return el('button', {type: 'button', id: 'seula-consent-' + id,
				'class': 'seula-consent__button seula-consent__button--' + id, hidden: hidden},
				[text(key)]);
		}
		root = el('div', {id: 'seula-consent', 'class': 'seula-consent seula-consent--first', role: 'dialog',
			'aria-modal': 'false', 'aria-labelledby': 'seula-consent-title',
			'aria-describedby': 'seula-consent-description', tabindex: '-1',
			lang: cfg.language || null, dir: direction()}, [
			el('h2', {id: 'seula-consent-title', 'class': 'seula-consent__title'}, [text('title')]),
			el('p', {id: 'seula-consent-description', 'class': 'seula-consent__text'},
				[text('description')]),
			/* What Accept all agrees to, on the first layer: each purpose
			 * asked for, in a line (Choose has them whole). */
			el('ul', {id: 'seula-consent-summary', 'class': 'seula-consent__summary'},
				offered().map(function (id) {
					var info = infos[id] || {};
					return el('li', {'class': 'seula-consent__summary-item'}, [
						el('span', {'class': 'seula-consent__summary-name'}, [info.name || id]),
						info.purpose ? ' – ' + brief(String(info.purpose)) : null]);
				})),
			/* That visits are counted until a choice, and that refusing
			 * statistics stops it (Art. 21(4) GDPR: the right to object,
			 * stated apart): the server ends the statistics purpose with
			 * it on a site that counts without consent. */
			counting ? el('p', {id: 'seula-consent-counting',
				'class': 'seula-consent__text seula-consent__counting'}, [counting]) : null,
			cfg.mode === 'exempt' ? el('p', {id: 'seula-consent-exempt',
				'class': 'seula-consent__note seula-consent__note--exempt'}, [text('exempt_note')]) : null,
			gpc ? el('p', {id: 'seula-consent-gpc',
				'class': 'seula-consent__note seula-consent__note--gpc'}, [text('gpc_note')]) : null,
			/* Do Not Track, where the site counts it as an objection. */
			locked && !gpc ? el('p', {id: 'seula-consent-dnt',
				'class': 'seula-consent__note seula-consent__note--dnt'}, [fallback('dnt_note')]) : null,
			el('p', {'class': 'seula-consent__text seula-consent__links'}, [
				controller ? el('span', {id: 'seula-consent-controller',
					'class': 'seula-consent__controller'},
					[fallback('controller_label') + ': ' + controller]) : null,
				privacy ? el('a', {'class': 'seula-consent__link seula-consent__link--privacy',
					id: 'seula-consent-privacy', href: privacy}, [text('privacy_link')]) : null,
				receipt ? el('a', {'class': 'seula-consent__link seula-consent__link--receipt',
					id: 'seula-consent-receipt', href: receipt}, [text('receipt')]) : null]),
			el('ul', {id: 'seula-consent-details', 'class': 'seula-consent__categories', hidden: true},
				ids.map(function (id) {
					return category(id, infos[id] || {}, !!mine && mine[id] === true, gpc, locked);
				})),
			el('div', {'class': 'seula-consent__buttons'}, [
				button('accept-all', 'accept_all'),
				button('reject-all', 'reject_all'),
				button('choose', 'choose'),
				button('save', 'save', true),
				mine ? button('withdraw', 'withdraw') : null,
				/* Reopened, the choice stands: leaving it as it is needs no new one. */
				reopened ? el('button', {type: 'button', id: 'seula-consent-close',
					'class': 'seula-consent__button seula-consent__button--close'},
					[fallback('close')]) : null]),
			el('p', {id: 'seula-consent-status', 'class': 'seula-consent__status', role: 'status'})]);

		root.addEventListener('click', function (e) {
			var b = e.target.closest && e.target.closest('button');
			if (b && !b.disabled) safe(pressed, b.id.replace('seula-consent-', ''));
		});
		root.addEventListener('keydown', function (e) {
			if (e.key !== 'Escape' || busy) return;
			if (reopened) {
				e.stopPropagation();
				safe(close);
			} else if (!root.querySelector('#seula-consent-details').hidden) {
				e.stopPropagation();
				safe(expand, false);
			}
		});
		if (reopened) expand(true, true);
	}

	/* A purpose in a line: its first sentence (one that ends where a
	 * capital letter starts the next, so that "e.g. a form" stays). */
	function brief(purpose) {
		var m = /^[\s\S]*?[.!?](?=\s+["'(\u2018\u201c]?[A-Z\u00c0-\u00d6\u00d8-\u00de])/.exec(purpose);
		return m ? m[0] : purpose;
	}

	/* The Choose layer open or folded. */
	function expand(open, quiet) {
		var q = function (id) { return root.querySelector('#seula-consent-' + id); };
		q('details').hidden = !open;
		q('summary').hidden = open; /* the purposes are there, whole */
		if (q('counting')) q('counting').hidden = open;
		root.className = 'seula-consent' + (open ? '' : ' seula-consent--first');
		q('choose').hidden = open;
		q('save').hidden = !open;
		if (quiet) return;
		var first = root.querySelector('.seula-consent__checkbox:not(:disabled)');
		(open ? first || q('save') : q('choose')).focus();
	}

	function pressed(what) {
		var all = {}, boxes = root.querySelectorAll('.seula-consent__checkbox');
		if (what === 'choose') return expand(true);
		if (what === 'close') return close();
		if (what === 'accept-all') {
			offered().forEach(function (c) { all[c] = true; });
			return choose('accept_all', all, source);
		}
		if (what === 'reject-all') return choose('reject_all', allDenied(), source);
		if (what === 'withdraw') return choose('withdraw', allDenied(), source);
		if (what === 'save') {
			var same = source !== 'banner' && valid(stored) && !!current;
			Array.prototype.forEach.call(boxes, function (b) {
				var c = b.getAttribute('data-category');
				all[c] = b.checked && !b.disabled;
				if (same && all[c] !== (current[c] === true)) same = false;
			});
			/* Nothing changed: nothing to record, no consent renewed. */
			if (same) return close();
			return choose('custom', all, source);
		}
	}

	function setBusy(on) {
		if (!root) return;
		/* A disabled button loses the focus: keep it in the banner. */
		if (on && root.contains(d.activeElement)) root.focus();
		Array.prototype.forEach.call(root.querySelectorAll('button'), function (b) { b.disabled = on; });
		root.setAttribute('aria-busy', on ? 'true' : 'false');
	}

	function editing(e) {
		return !!e && (/^(INPUT|TEXTAREA|SELECT)$/.test(e.tagName) || e.isContentEditable);
	}

	/* Shows the banner, first in the keyboard order and fixed at the
	 * bottom, not in the way of the page. */
	function show(src) {
		if (!cfg || !d.body) return;
		if (root) {
			root.focus();
			return;
		}
		source = src;
		returnTo = d.activeElement;
		injectStyle();
		render(src === 'preference_link');
		if (reopen) reopen.hidden = true;
		d.body.insertBefore(root, d.body.firstChild);
		safe(makeRoom);
		/* Into the banner, unless the visitor is typing somewhere. */
		if (src !== 'banner' || !editing(returnTo)) root.focus();
		/* The statistics count the banner asking, not the visitor looking. */
		if (src === 'banner')
			call('POST', '/api/consent/shown', {site: site, policy_version: cfg.policy_version,
				language: cfg.language}).catch(function () {});
	}

	/* Room for the banner (WCAG 2.2, 2.4.11): while it shows, the page's
	 * bottom padding grows by its height, so that the end of the page
	 * scrolls into view above it, and its scroll padding as much, so
	 * that an element the keyboard moves to is scrolled clear of it.
	 * Kept to the banner's height as it changes; the page's own styles
	 * back as they were once it closes. */
	var room = null;

	function makeRoom() {
		var body = d.body, html = d.documentElement;
		if (!room) {
			room = {page: body, body: [body.style.getPropertyValue('padding-bottom'),
				body.style.getPropertyPriority('padding-bottom')],
			html: [html.style.getPropertyValue('scroll-padding-bottom'),
				html.style.getPropertyPriority('scroll-padding-bottom')]};
			var fit = function () { if (root) safe(makeRoom); };
			if (w.ResizeObserver) {
				var watch = new w.ResizeObserver(fit);
				watch.observe(root);
				room.stop = function () { watch.disconnect(); };
			} else {
				w.addEventListener('resize', fit);
				room.stop = function () { w.removeEventListener('resize', fit); };
			}
		}
		/* The page's own, measured without this. */
		restore(body, 'padding-bottom', room.body);
		restore(html, 'scroll-padding-bottom', room.html);
		var px = function (e, p) { return parseFloat(w.getComputedStyle(e).getPropertyValue(p)) || 0; };
		var own = px(body, 'padding-bottom'), scroll = px(html, 'scroll-padding-bottom');
		var h = Math.ceil(root.getBoundingClientRect().height);
		/* And inside it, its text clear of the first layer's answers. */
		var row = root.querySelector('.seula-consent__buttons');
		root.style.scrollPaddingBottom = / seula-consent--first/.test(root.className) && row
			? row.offsetHeight + 'px' : '';
		body.style.setProperty('padding-bottom', own + h + 'px', 'important');
		html.style.setProperty('scroll-padding-bottom', scroll + h + 'px', 'important');
	}

	function restore(e, prop, was) {
		if (was[0]) e.style.setProperty(prop, was[0], was[1]);
		else e.style.removeProperty(prop);
	}

	function freeRoom() {
		var was = room;
		if (!was) return;
		room = null;
		was.stop();
		restore(d.body, 'padding-bottom', was.body);
		restore(d.documentElement, 'scroll-padding-bottom', was.html);
	}

	function close() {
		if (!root) return;
		var had = root.contains(d.activeElement);
		root.parentNode.removeChild(root);
		root = null;
		safe(freeRoom);
		if (reopen) reopen.hidden = false;
		if (had && returnTo && returnTo !== d.body && d.contains(returnTo))
			safe(function () { returnTo.focus(); });
		else if (had) {
			/* Nothing to go back to (the banner came by itself): the
			 * button that brings it back, not the page's <body>. */
			safe(showReopen);
			if (reopen && !reopen.hidden) reopen.focus();
		}
		returnTo = null;
	}

	function showReopen() {
		if (!cfg || !d.body || !valid(stored)) return;
		if (!reopen) {
			injectStyle();
			reopen = el('button', {type: 'button', id: 'seula-consent-reopen',
				'class': 'seula-consent__reopen', lang: cfg.language || null, dir: direction()},
				[text('reopen')]);
			reopen.addEventListener('click', function () { safe(open); });
			d.body.appendChild(reopen);
		}
		reopen.hidden = !!root;
	}

	/* A site that swaps its page on navigation (Turbo replaces the
	 * <body>, htmx's boost its children) takes the banner and the
	 * reopen button with it: they go back into the page, so that a
	 * choice can still be made, changed and withdrawn without a reload.
	 * A copy of them in the new page (a snapshot's, which has none of
	 * their handlers) gives way. */
	var watched = null, watcher = null;

	function reattach() {
		var body = d.body;
		if (!body) return;
		if (watched !== body) {
			watcher.observe(body, {childList: true});
			watched = body;
		}
		[root, reopen].forEach(function (e) {
			if (!e || body.contains(e)) return;
			var copy = d.getElementById(e.id);
			if (copy) copy.parentNode.removeChild(copy);
			if (e === root) body.insertBefore(e, body.firstChild);
			else body.appendChild(e);
		});
		if (room && room.page !== body) {
			/* The room was made in the page that went: made again. */
			var was = room;
			room = null;
			was.stop();
			restore(d.documentElement, 'scroll-padding-bottom', was.html);
			if (root) safe(makeRoom);
		}
	}

	function open() {
		if (!cfg) {
			pendingOpen = true; /* once the server has answered */
			return;
		}
		whenReady(function () { show(valid(stored) ? 'preference_link' : 'banner'); });
	}

	function whenReady(fn) {
		if (d.readyState === 'loading')
			d.addEventListener('DOMContentLoaded', function () { safe(fn); });
		else
			safe(fn);
	}

	/* ---- start --------------------------------------------------------------- */

	/* The server's config, then what this visitor needs: nothing, the
	 * reopen button, or the banner (and GPC's record).  again: the server
	 * refused a choice as stale, so the banner shows whatever is stored. */
	function start(src, again) {
		return loadConfig(again).then(function (c) {
			cfg = c;
			/* Given under another policy: it no longer counts and
			 * was never applied; a current one is applied now. */
			if (stored && !valid(stored) && (current || stored.method !== 'gpc')) {
				/* A denial owed from under the older policy is owed
				 * all the same: sent now (it needs no new texts), and
				 * its id kept for the next record should that fail. */
				var owed = stored.pending ? stored.pending.vid : '';
				if (owed && !again) {
					safe(function () {
						record('withdraw', allDenied(), stored.pending.source)
							.reply.catch(function () {});
					});
				}
				objecting = stored.method !== 'gpc' && stored.granted.analytics !== true;
				forget(owed || null, objecting);
			}
			else if (valid(stored) && !current)
				applyStored(false);
			if (valid(stored) && stored.pending && !again) settle();
			if (valid(stored) && !again) {
				whenReady(showReopen);
				if (pendingOpen) open();
				return;
			}
			if (!valid(stored) && gpcOn() && !(stored && stored.method === 'gpc' &&
				stored.policy === cfg.policy_version)) recordGpc();
			whenReady(function () { show(src || 'banner'); });
		}).catch(function () {
			/* The server unreachable: nothing shown, nothing granted
			 * (not even a stored choice: its policy is not known to
			 * be current); the tracker goes on without an id. */
		});
	}

	/* Another tab's choice (a withdrawal above all) holds here too, from
	 * the moment this one is looked at again. */
	function recheck() {
		if (!cfg || busy || rawStored() === seen) return;
		seen = rawStored();
		stored = readStored();
		if (stored && (stored.policy !== cfg.policy_version || !textsCurrent(stored))) {
			/* Written under a policy or texts this tab does not know
			 * (another tab may know newer ones): not judged nor deleted
			 * here; what it denies holds, nothing more is granted. */
			var kept = {}, less = false;
			offered().forEach(function (c) {
				kept[c] = !!current && current[c] === true && stored.granted[c] === true;
				less = less || (!!current && current[c] === true && !kept[c]);
			});
			if (less) apply(kept, gcmFor(kept), true);
			return;
		}
		if (root) close(); /* it shows what no longer holds */
		if (valid(stored)) {
			applyStored(true);
			showReopen();
			return;
		}
		if (current) forget(null, !!stored && stored.method === 'gpc');
		show('banner');
	}

	if (!site || !api) return;

	w.seulaConsent = {
		get: function () { return safe(get) || null; },
		on: function (type, fn) {
			if (type === 'change' && typeof fn === 'function') listeners.push(fn);
		},
		off: function (type, fn) {
			listeners = listeners.filter(function (f) { return f !== fn; });
		},
		open: function () { safe(open); },
		withdraw: function () {
			return safe(function () {
				return choose('withdraw', allDenied(), 'api');
			}) || Promise.resolve(false);
		}
	};

	safe(function () {
		stored = readStored();
		seen = rawStored();
		if (valid(stored)) {
			/* Applied once the config confirms its policy: the
			 * deferred tracker waits for that before its first page
			 * view, rather than send it without the id. */
			if (!(w.seula && w.seula.loaded)) {
				w.seula = w.seula || function () { (w.seula.q = w.seula.q || []).push(arguments); };
				w.seula('hold');
				/* A refusal of statistics holds from the first page
				 * view: it grants nothing, so it need not wait (should
				 * the config say it is stale, the banner asks and
				 * lifts it). */
				if (stored.granted.analytics !== true)
					w.seula('consent', {analytics: false, objection: true, create_id: false});
			}
		} else {
			if (stored && (stored.method !== 'gpc' || stored.expires <= Date.now())) {
				setCookie(COOKIE, '', 0); /* lapsed */
				stored = null;
			}
			/* An id without a choice that allows it goes, as forget()
			 * has it go: kept for the record of the next denial. */
			formerId = readVid();
			if (formerId) setCookie(VID, '', 0);
		}
	});
	d.addEventListener('click', function (e) {
		var t = e.target.closest && e.target.closest('[data-seula-consent-open]');
		if (!t) return;
		e.preventDefault();
		safe(open);
	});
	d.addEventListener('visibilitychange', function () { if (!d.hidden) safe(recheck); });
	w.addEventListener('focus', function () { safe(recheck); });
	w.addEventListener('pageshow', function () { safe(recheck); });
	if (w.MutationObserver) {
		watcher = new w.MutationObserver(function () { safe(reattach); });
		watcher.observe(d.documentElement, {childList: true});
		whenReady(reattach);
	}
	whenReady(activate);
	/* A page prerendered in case the visitor opens it asks nothing, and
	 * makes no GPC record, until they do: the opt-in rates count the
	 * visitors asked. */
	if (d.prerendering)
		d.addEventListener('prerenderingchange', function () { safe(start); }, {once: true});
	else safe(start);
})();

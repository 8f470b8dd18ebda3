/* The demo site's own script: a small pushState router, the plan buttons
 * and what the consent banner has told the page.
 * The server has only /demo/ itself; the other "pages" are sections of it. */
(function () {
	'use strict';
	var sections = document.querySelectorAll('[data-page]');

	/* Show the section of a path (the home page for any unknown one). */
	function show(path) {
		var page = sections[0];
		for (var i = 0; i < sections.length; i++)
			if (sections[i].getAttribute('data-page') === path) page = sections[i];
		for (var j = 0; j < sections.length; j++) sections[j].hidden = sections[j] !== page;
		document.title = page.getAttribute('data-title');
		var links = document.querySelectorAll('nav a');
		for (var k = 0; k < links.length; k++) {
			if (links[k].pathname === page.getAttribute('data-page'))
				links[k].setAttribute('aria-current', 'page');
			else
				links[k].removeAttribute('aria-current');
		}
	}

	document.addEventListener('click', function (e) {
		var a = e.target.closest('a[data-route]');
		/* New tabs and windows get what they ask for. */
		if (!a || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
		e.preventDefault();
		if (a.href === location.href) return;
		/* The new page first, then the address: the tracker reads the
		 * title of the page it counts. */
		show(a.pathname);
		history.pushState(null, '', a.href);
		window.scrollTo(0, 0);
		document.getElementById('page').focus();
	});
	window.addEventListener('popstate', function () { show(location.pathname); });

	var plans = document.querySelectorAll('[data-plan]');
	for (var i = 0; i < plans.length; i++) {
		plans[i].addEventListener('click', function (e) {
			var plan = e.currentTarget.getAttribute('data-plan');
			seula('event', 'signup', {plan: plan});
			document.getElementById('signup-done').textContent =
				'Thank you! A custom event "signup" with {plan: \'' + plan + '\'} was sent.';
		});
	}

	/* What the banner has told the page, and the cookies that follow. */
	function showConsent() {
		document.getElementById('cookies').textContent = document.cookie || '(none)';
		var state = window.seulaConsent && window.seulaConsent.get();
		document.getElementById('consent-state').textContent = !state ? '(no choice)'
			: ['analytics', 'marketing', 'personalization'].map(function (c) {
				return c + ' ' + (state[c] ? 'allowed' : 'denied');
			}).join(', ') + ' (' + state.method.replace('_', ' ') + ')';
	}
	/* The cookies shown are the banner's: it sets them before it tells. */
	window.addEventListener('seula:consent', showConsent);
	if (window.seulaConsent) window.seulaConsent.on('change', showConsent);

	show(location.pathname);
	showConsent();
})();

/* Stands in for an advertising tag: consent.js activates it (a
 * <script type="text/plain" data-seula-category="marketing">) only once the
 * visitor has allowed marketing, and once per page. */
(function () {
	'use strict';
	window.seulaDemoMarketing = (window.seulaDemoMarketing || 0) + 1;
	var status = document.getElementById('marketing-status');
	if (status) status.textContent = 'ran: marketing was allowed';
})();

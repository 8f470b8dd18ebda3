/* Unit tests: core/netaddr.c - addresses, CIDR, X-Forwarded-For. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *fmt(const struct seula_ip *ip)
{
	static char buf[SEULA_IP_TEXT_MAX];
	assert_int_equal(seula_ip_format(ip, buf, sizeof(buf)), SEULA_OK);
	return buf;
}

static struct seula_ip ip(const char *text)
{
	struct seula_ip out;
	assert_int_equal(seula_ip_parse(text, &out), SEULA_OK);
	return out;
}

static void parse_and_format_canonical(void **state)
{
	(void)state;
	struct seula_ip a = ip("2001:0DB8:0000:0000:0000:0000:0000:0001");
	assert_string_equal(fmt(&a), "2001:db8::1");
	a = ip("192.168.1.1");
	assert_string_equal(fmt(&a), "192.168.1.1");
	a = ip("::ffff:10.1.2.3");
	assert_true(seula_ip_is_v4_mapped(&a));
	assert_string_equal(fmt(&a), "::ffff:10.1.2.3");

	struct seula_ip bad;
	const char *invalid[] = {
	        "",
	        "1.2.3",
	        "1.2.3.4.5",
	        "256.1.1.1",
	        "1.2.3.4:80",
	        "[::1]",
	        "::1%eth0",
	        "abc",
	        "1.2.3.4 ",
	        "gggg::1",
	        "010.1.1.1",
	        "11111111111111111111111111111111111111111111111"};
	for (size_t i = 0; i < sizeof(invalid) / sizeof(*invalid); i++)
		assert_int_equal(seula_ip_parse(invalid[i], &bad),
		                 SEULA_EINVAL);
	assert_int_equal(seula_ip_parse(NULL, &bad), SEULA_EINVAL);
}

static void sockaddr_unmaps_v4(void **state)
{
	(void)state;
	struct sockaddr_in6 sa6;
	memset(&sa6, 0, sizeof(sa6));
	sa6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:203.0.113.9", &sa6.sin6_addr);
	struct seula_ip out;
	assert_int_equal(seula_ip_from_sockaddr((struct sockaddr *)&sa6, &out),
	                 SEULA_OK);
	assert_int_equal(out.family, 4);
	assert_string_equal(fmt(&out), "203.0.113.9");
}

static const char *masked(const char *text, int v4_bits, int v6_bits)
{
	static char buf[SEULA_IP_TEXT_MAX];
	struct seula_ip a = ip(text);
	assert_int_equal(
	        seula_ip_masked_text(&a, v4_bits, v6_bits, buf, sizeof(buf)),
	        SEULA_OK);
	return buf;
}

/* An address carrying the client's IPv4 address is masked as that. */
static void masks_embedded_v4(void **state)
{
	(void)state;
	assert_string_equal(masked("203.0.113.9", 24, 48), "203.0.113.0");
	assert_string_equal(masked("2001:db8:aaaa:bbbb::1", 24, 48),
	                    "2001:db8:aaaa::");
	assert_string_equal(masked("::ffff:203.0.113.9", 16, 48),
	                    "::ffff:203.0.0.0");
	/* 6to4: bits 16-47 are 198.51.100.83, which a /48 would keep. */
	assert_string_equal(masked("2002:c633:6453:1::1", 16, 48),
	                    "2002:c633::");
	assert_string_equal(masked("2002:c633:6453:1::1", 24, 48),
	                    "2002:c633:6400::");
	assert_string_equal(masked("2002:c633:6453:1::1", 32, 24),
	                    "2002:c600::");

	struct seula_ip a = ip("2002:c633:6453::1");
	assert_int_equal(seula_ip_mask_level(&a, 2), SEULA_OK);
	assert_string_equal(fmt(&a), "2002:c633::");
	a = ip("10.1.2.3");
	assert_int_equal(seula_ip_mask_level(&a, 0), SEULA_EINVAL);
	assert_int_equal(seula_ip_mask_level(&a, 5), SEULA_EINVAL);
	assert_string_equal(fmt(&a), "10.1.2.3");
	assert_int_equal(seula_ip_mask_level(&a, 1), SEULA_OK);
	assert_string_equal(fmt(&a), "10.1.2.0");
}

static void cidr_contains(void **state)
{
	(void)state;
	struct seula_cidr c;
	assert_int_equal(seula_cidr_parse("10.0.0.0/8", &c), SEULA_OK);
	struct seula_ip a = ip("10.200.3.4"), b = ip("11.0.0.1");
	assert_true(seula_cidr_contains(&c, &a));
	assert_false(seula_cidr_contains(&c, &b));
	struct seula_ip mapped = ip("::ffff:10.9.9.9");
	assert_true(seula_cidr_contains(&c, &mapped));

	assert_int_equal(seula_cidr_parse("10.1.2.3/12", &c), SEULA_OK);
	assert_string_equal(fmt(&c.net), "10.0.0.0");
	a = ip("10.15.255.255");
	b = ip("10.16.0.0");
	assert_true(seula_cidr_contains(&c, &a));
	assert_false(seula_cidr_contains(&c, &b));

	assert_int_equal(seula_cidr_parse("2001:db8::/32", &c), SEULA_OK);
	a = ip("2001:db8:ffff::1");
	b = ip("2001:db9::1");
	assert_true(seula_cidr_contains(&c, &a));
	assert_false(seula_cidr_contains(&c, &b));
	struct seula_ip v4 = ip("1.2.3.4");
	assert_false(seula_cidr_contains(&c, &v4));

	assert_int_equal(seula_cidr_parse("::1", &c), SEULA_OK);
	assert_int_equal(c.prefix, 128);
	assert_int_equal(seula_cidr_parse("0.0.0.0/0", &c), SEULA_OK);
	assert_true(seula_cidr_contains(&c, &v4));

	const char *bad[] = {"10.0.0.0/33", "::/129",      "10.0.0.0/", "/8",
	                     "10.0.0.0/-1", "10.0.0.0/8x", "x/8",       ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(seula_cidr_parse(bad[i], &c), SEULA_EINVAL);
}

/* The client seula_client_ip() finds, with its return code in *rc. */
static const char *client_rc(const char *peer, const char *xff, int *rc)
{
	struct seula_cidr trusted[2];
	assert_int_equal(seula_cidr_parse("127.0.0.0/8", &trusted[0]), 0);
	assert_int_equal(seula_cidr_parse("10.0.0.0/8", &trusted[1]), 0);
	struct seula_ip p = ip(peer), out;
	*rc = seula_client_ip(&p, xff, trusted, 2, &out);
	return fmt(&out);
}

static const char *client(const char *peer, const char *xff)
{
	int rc;
	const char *out = client_rc(peer, xff, &rc);
	assert_int_equal(rc, SEULA_OK);
	return out;
}

/* Only trusted proxies are believed; the walk goes right to left. */
static void forwarded_for(void **state)
{
	(void)state;
	assert_string_equal(client("127.0.0.1", NULL), "127.0.0.1");
	assert_string_equal(client("127.0.0.1", "203.0.113.5"), "203.0.113.5");
	/* An untrusted peer's header is ignored: no spoofing. */
	assert_string_equal(client("198.51.100.1", "203.0.113.5"),
	                    "198.51.100.1");
	assert_string_equal(client("198.51.100.1", "unknown"), "198.51.100.1");
	/* The client may prepend lies; the first untrusted from the right
	 * wins. */
	assert_string_equal(
	        client("127.0.0.1", "1.1.1.1, 203.0.113.5, 10.0.0.2"),
	        "203.0.113.5");
	assert_string_equal(client("127.0.0.1", " 2001:db8::7 "),
	                    "2001:db8::7");
	assert_string_equal(client("127.0.0.1", "[2001:db8::7]:443"),
	                    "2001:db8::7");
	assert_string_equal(client("127.0.0.1", "203.0.113.5:8080"),
	                    "203.0.113.5");
	assert_string_equal(client("127.0.0.1", "::ffff:203.0.113.5"),
	                    "203.0.113.5");
	/* A port is decimal, up to 65535. */
	assert_string_equal(client("127.0.0.1", "203.0.113.5:65535"),
	                    "203.0.113.5");
	assert_string_equal(client("127.0.0.1", "[2001:db8::7]:0"),
	                    "2001:db8::7");
	assert_string_equal(client("127.0.0.1", "[2001:db8::7]"),
	                    "2001:db8::7");
	/* Garbage left of the client is never read. */
	assert_string_equal(client("127.0.0.1", "junk, ,203.0.113.5"),
	                    "203.0.113.5");
	assert_string_equal(client("127.0.0.1", "1.1.1.1:abc, 203.0.113.5"),
	                    "203.0.113.5");
	/* All trusted: the leftmost. */
	assert_string_equal(client("127.0.0.1", "10.0.0.1, 127.0.0.2"),
	                    "10.0.0.1");
}

/* A trusted proxy's header that names no client gives no address, never a
 * proxy's (the peer's, when it is the peer's own entry that is broken). */
static void forwarded_for_naming_no_client(void **state)
{
	(void)state;
	const char *bad[] = {"203.0.113.5, unknown",
	                     "junk, 10.0.0.3",
	                     ",,,",
	                     "",
	                     "203.0.113.5,",
	                     "unix:",
	                     "203.0.113.5, [::1, 10.0.0.3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int rc;
		assert_string_equal(client_rc("127.0.0.1", bad[i], &rc),
		                    "0.0.0.0");
		assert_int_equal(rc, SEULA_EINVAL);
	}
}

/* An entry whose port is not decimal digits up to 65535 is not an
 * address: on the client's entry or a trusted hop's, it names no client. */
static void forwarded_for_bad_port(void **state)
{
	(void)state;
	const char *bad[] = {
	        "203.0.113.5:abc",     "203.0.113.5:",
	        "203.0.113.5:65536",   "203.0.113.5:123456",
	        "203.0.113.5:+80",     "203.0.113.5:-1",
	        "203.0.113.5: 80",     "[::1]:",
	        "[2001:db8::7]:http",  "[2001:db8::7]x",
	        "[2001:db8::7]:80:80", "203.0.113.5, 10.0.0.3:99999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int rc;
		assert_string_equal(client_rc("127.0.0.1", bad[i], &rc),
		                    "0.0.0.0");
		assert_int_equal(rc, SEULA_EINVAL);
	}
}

/* `first`, if not NULL, then n trusted addresses 10.0.0.1, 10.0.0.2, ...
 * into buf. */
static const char *chain(char *buf, const char *first, int n)
{
	size_t len = (size_t)sprintf(buf, "%s", first ? first : "");
	for (int i = 0; i < n; i++)
		len += (size_t)sprintf(buf + len, "%s10.0.%d.%d",
		                       len ? ", " : "", i / 250, i % 250 + 1);
	return buf;
}

/* The walk reads the right end of a chain however long, and at most
 * SEULA_XFF_MAX_HOPS entries of it. */
static void forwarded_for_hops(void **state)
{
	(void)state;
	/* 20 KB of what a client wrote, then what the proxy appended. */
	size_t n = 2000;
	char *xff = malloc(n * 12 + 64);
	assert_non_null(xff);
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(xff + len, "198.18.0.1, ");
	strcpy(xff + len, "203.0.113.9");
	assert_string_equal(client("127.0.0.1", xff), "203.0.113.9");

	/* SEULA_XFF_MAX_HOPS entries are read: the client behind one fewer
	 * trusted proxies is found, as is the left-most of as many. */
	int rc;
	assert_string_equal(client("127.0.0.1", chain(xff, "203.0.113.9",
	                                              SEULA_XFF_MAX_HOPS - 1)),
	                    "203.0.113.9");
	assert_string_equal(
	        client("127.0.0.1", chain(xff, NULL, SEULA_XFF_MAX_HOPS)),
	        "10.0.0.1");
	/* One more, and the walk stops there, naming nobody. */
	assert_string_equal(
	        client_rc("127.0.0.1",
	                  chain(xff, "203.0.113.9", SEULA_XFF_MAX_HOPS), &rc),
	        "0.0.0.0");
	assert_int_equal(rc, SEULA_ETOOBIG);
	assert_string_equal(client_rc("127.0.0.1",
	                              chain(xff, NULL, SEULA_XFF_MAX_HOPS + 1),
	                              &rc),
	                    "0.0.0.0");
	assert_int_equal(rc, SEULA_ETOOBIG);
	free(xff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(parse_and_format_canonical),
	        cmocka_unit_test(sockaddr_unmaps_v4),
	        cmocka_unit_test(masks_embedded_v4),
	        cmocka_unit_test(cidr_contains),
	        cmocka_unit_test(forwarded_for),
	        cmocka_unit_test(forwarded_for_naming_no_client),
	        cmocka_unit_test(forwarded_for_bad_port),
	        cmocka_unit_test(forwarded_for_hops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

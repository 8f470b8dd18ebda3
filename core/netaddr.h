/*
 * netaddr.h - IP addresses, CIDR ranges and the client address behind
 * trusted proxies.
 */
#ifndef SEULA_NETADDR_H
#define SEULA_NETADDR_H

#include <seula/plugin.h>
#include <stdbool.h>
#include <stddef.h>

#define SEULA_IP_TEXT_MAX 46 /* INET6_ADDRSTRLEN */

struct sockaddr;

struct seula_cidr {
	struct seula_ip net; /* already masked to prefix */
	int prefix;          /* 0..32 or 0..128 */
};

/* Parse an IPv4 or IPv6 address (no brackets, no port, no zone). */
int seula_ip_parse(const char *text, struct seula_ip *out);
/* Canonical text (RFC 5952 for IPv6) into buf of at least 46 bytes. */
int seula_ip_format(const struct seula_ip *ip, char *buf, size_t len);
/* From a socket address; IPv4-mapped IPv6 peers become IPv4. */
int seula_ip_from_sockaddr(const struct sockaddr *sa, struct seula_ip *out);
/* True for ::ffff:a.b.c.d. */
bool seula_ip_is_v4_mapped(const struct seula_ip *ip);

/* Zero all but the first v4_bits of an IPv4 address, v6_bits of an IPv6
 * one.  An IPv6 address that carries the client's IPv4 address is masked
 * as that: ::ffff:a.b.c.d keeps v4_bits of it, and 6to4 (2002:AABB:CCDD::,
 * whose bits 16-47 are the address) keeps at most 16 + v4_bits bits. */
void seula_ip_mask(struct seula_ip *ip, int v4_bits, int v6_bits);

/* seula_ip_mask() at one of Matomo's levels, 1-4: IPv4 bytes zeroed 1-4,
 * IPv6 bits kept 64, 48, 24, 0.  SEULA_EINVAL for another level or no
 * address (`ip` unchanged). */
int seula_ip_mask_level(struct seula_ip *ip, int level);

/* Canonical text of `ip` masked by seula_ip_mask(), e.g. 24 and 48: where
 * staff connect from, for the audit log, without the full address ever
 * reaching disk. */
int seula_ip_masked_text(const struct seula_ip *ip, int v4_bits, int v6_bits,
                         char *buf, size_t len);

/* "10.0.0.0/8", "::1/128", or a bare address (a host range). */
int seula_cidr_parse(const char *text, struct seula_cidr *out);
bool seula_cidr_contains(const struct seula_cidr *cidr,
                         const struct seula_ip *ip);
bool seula_cidr_list_contains(const struct seula_cidr *list, size_t n,
                              const struct seula_ip *ip);

/* The most X-Forwarded-For entries seula_client_ip() reads: more trusted
 * proxies in a row than any real chain has (a CDN, a load balancer, nginx). */
#define SEULA_XFF_MAX_HOPS 32

/*
 * The client address of a request: the peer, unless the peer is a trusted
 * proxy that sent X-Forwarded-For (`xff`: its headers joined with commas;
 * NULL when there was none).  Then the header is read from the right, however
 * long it is: each entry is the address the hop to its right saw, so trusted
 * hops are skipped and the first untrusted address is the client (the
 * left-most entry when all are trusted).  What a client wrote to the left of
 * that is never read.
 *
 * An entry is an address, with or without a port: "a.b.c.d",
 * "a.b.c.d:port", "v6", "[v6]" or "[v6]:port", where a port is 1 to 5
 * decimal digits up to 65535.  Anything else ("unknown", "unix:", an empty
 * entry, "1.2.3.4:abc", "[::1]:", "1.2.3.4:70000") is not an address, and
 * the walk stops there: skipping it would take the entry to its left,
 * which a client may have written.  Entries left of the client are never
 * reached, so never checked.
 *
 * When the chain names no client, *out is 0.0.0.0 (unknown), never a
 * proxy's own address: SEULA_EINVAL when an entry the walk reaches is not an
 * address, SEULA_ETOOBIG when SEULA_XFF_MAX_HOPS trusted entries have more
 * to their left.  The server refuses such a request with 400
 * bad_forwarded_for.
 */
int seula_client_ip(const struct seula_ip *peer, const char *xff,
                    const struct seula_cidr *trusted, size_t n_trusted,
                    struct seula_ip *out);

#endif

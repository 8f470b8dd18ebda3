/*
 * netaddr.c - IP addresses, CIDR ranges, X-Forwarded-For.
 */
#include "netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0,    0,
                                             0, 0, 0, 0, 0xff, 0xff};

bool seula_ip_is_v4_mapped(const struct seula_ip *ip)
{
	return ip->family == 6 && memcmp(ip->bytes, v4_mapped_prefix,
	                                 sizeof(v4_mapped_prefix)) == 0;
}

int seula_ip_parse(const char *text, struct seula_ip *out)
{
	struct seula_ip ip;
	memset(&ip, 0, sizeof(ip));
	if (!text || strlen(text) >= SEULA_IP_TEXT_MAX)
		return SEULA_EINVAL;
	if (inet_pton(AF_INET, text, ip.bytes) == 1) {
		ip.family = 4;
	} else if (inet_pton(AF_INET6, text, ip.bytes) == 1) {
		ip.family = 6;
	} else {
		return SEULA_EINVAL;
	}
	*out = ip;
	return SEULA_OK;
}

int seula_ip_format(const struct seula_ip *ip, char *buf, size_t len)
{
	int af = ip->family == 4 ? AF_INET : ip->family == 6 ? AF_INET6 : -1;
	if (af < 0 || len < SEULA_IP_TEXT_MAX)
		return SEULA_EINVAL;
	if (!inet_ntop(af, ip->bytes, buf, (socklen_t)len))
		return SEULA_EINVAL;
	return SEULA_OK;
}

int seula_ip_from_sockaddr(const struct sockaddr *sa, struct seula_ip *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		out->family = 4;
		memcpy(out->bytes, &in->sin_addr, 4);
		return SEULA_OK;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		        (const struct sockaddr_in6 *)sa;
		out->family = 6;
		memcpy(out->bytes, &in6->sin6_addr, 16);
		if (seula_ip_is_v4_mapped(out)) {
			uint8_t v4[4];
			memcpy(v4, out->bytes + 12, 4);
			memset(out, 0, sizeof(*out));
			out->family = 4;
			memcpy(out->bytes, v4, 4);
		}
		return SEULA_OK;
	}
	return SEULA_EINVAL;
}

static void zero_bits_from(uint8_t *bytes, int total_bits, int keep)
{
	for (int bit = keep < 0 ? 0 : keep; bit < total_bits; bit++)
		bytes[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
}

static void mask_to_prefix(struct seula_ip *ip, int prefix)
{
	zero_bits_from(ip->bytes, ip->family == 4 ? 32 : 128, prefix);
}

void seula_ip_mask(struct seula_ip *ip, int v4_bits, int v6_bits)
{
	if (ip->family == 4) {
		zero_bits_from(ip->bytes, 32, v4_bits);
	} else if (seula_ip_is_v4_mapped(ip)) {
		zero_bits_from(ip->bytes + 12, 32, v4_bits);
	} else if (ip->family == 6 && ip->bytes[0] == 0x20 &&
	           ip->bytes[1] == 0x02) {
		/* 6to4 (2002::/16, RFC 3056): bits 16-47 are the client's
		 * own IPv4 address, which a /48 would keep whole. */
		int keep = 16 + v4_bits;
		zero_bits_from(ip->bytes, 128, keep < v6_bits ? keep : v6_bits);
	} else {
		zero_bits_from(ip->bytes, 128, v6_bits);
	}
}

int seula_ip_mask_level(struct seula_ip *ip, int level)
{
	static const int v6_keep[5] = {128, 64, 48, 24, 0};
	if (level < 1 || level > 4 || (ip->family != 4 && ip->family != 6))
		return SEULA_EINVAL;
	seula_ip_mask(ip, 32 - 8 * level, v6_keep[level]);
	return SEULA_OK;
}

int seula_ip_masked_text(const struct seula_ip *ip, int v4_bits, int v6_bits,
                         char *buf, size_t len)
{
	struct seula_ip m = *ip;
	seula_ip_mask(&m, v4_bits, v6_bits);
	return seula_ip_format(&m, buf, len);
}

int seula_cidr_parse(const char *text, struct seula_cidr *out)
{
	char addr[SEULA_IP_TEXT_MAX];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	if (alen == 0 || alen >= sizeof(addr))
		return SEULA_EINVAL;
	memcpy(addr, text, alen);
	addr[alen] = '\0';

	struct seula_cidr c;
	if (seula_ip_parse(addr, &c.net) != SEULA_OK)
		return SEULA_EINVAL;
	int max = c.net.family == 4 ? 32 : 128;
	c.prefix = max;
	if (slash) {
		const char *p = slash + 1;
		if (*p < '0' || *p > '9' || strlen(p) > 3)
			return SEULA_EINVAL;
		char *end;
		long v = strtol(p, &end, 10);
		if (*end != '\0' || v < 0 || v > max)
			return SEULA_EINVAL;
		c.prefix = (int)v;
	}
	mask_to_prefix(&c.net, c.prefix);
	*out = c;
	return SEULA_OK;
}

bool seula_cidr_contains(const struct seula_cidr *cidr,
                         const struct seula_ip *ip)
{
	struct seula_ip probe = *ip;
	if (cidr->net.family == 4 && seula_ip_is_v4_mapped(ip)) {
		memset(&probe, 0, sizeof(probe));
		probe.family = 4;
		memcpy(probe.bytes, ip->bytes + 12, 4);
	}
	if (probe.family != cidr->net.family)
		return false;
	int full = cidr->prefix / 8, rest = cidr->prefix % 8;
	if (memcmp(probe.bytes, cidr->net.bytes, (size_t)full) != 0)
		return false;
	if (rest) {
		uint8_t m = (uint8_t)(0xffu << (8 - rest));
		if ((probe.bytes[full] & m) != cidr->net.bytes[full])
			return false;
	}
	return true;
}

bool seula_cidr_list_contains(const struct seula_cidr *list, size_t n,
                              const struct seula_ip *ip)
{
	for (size_t i = 0; i < n; i++)
		if (seula_cidr_contains(&list[i], ip))
			return true;
	return false;
}

/* A port after an address: 1 to 5 decimal digits, at most 65535, as
 * proxies write it.  Anything else is not an entry a proxy made. */
static bool xff_port_ok(const char *p, size_t len)
{
	if (len == 0 || len > 5)
		return false;
	long v = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	return v <= 65535;
}

/* One X-Forwarded-For entry: "a.b.c.d", "a.b.c.d:port", "[v6]", "[v6]:port"
 * or a bare IPv6 address, surrounded by optional spaces; a port is
 * xff_port_ok()'s. */
static int parse_xff_entry(const char *s, size_t len, struct seula_ip *out)
{
	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	char buf[SEULA_IP_TEXT_MAX];
	if (len == 0)
		return SEULA_EINVAL;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close)
			return SEULA_EINVAL;
		size_t alen = (size_t)(close - s - 1);
		if (alen == 0 || alen >= sizeof(buf))
			return SEULA_EINVAL;
		/* After the bracket, nothing or ":port". */
		size_t rest = len - alen - 2;
		if (rest &&
		    (close[1] != ':' || !xff_port_ok(close + 2, rest - 1)))
			return SEULA_EINVAL;
		memcpy(buf, s + 1, alen);
		buf[alen] = '\0';
		return seula_ip_parse(buf, out);
	}
	if (len >= sizeof(buf))
		return SEULA_EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (seula_ip_parse(buf, out) == SEULA_OK)
		return SEULA_OK;
	/* IPv4 with a port: exactly one colon. */
	char *colon = strchr(buf, ':');
	if (colon && !strchr(colon + 1, ':') &&
	    xff_port_ok(colon + 1, strlen(colon + 1))) {
		*colon = '\0';
		struct seula_ip ip;
		if (seula_ip_parse(buf, &ip) == SEULA_OK && ip.family == 4) {
			*out = ip;
			return SEULA_OK;
		}
	}
	return SEULA_EINVAL;
}

static void unmap(struct seula_ip *ip)
{
	if (seula_ip_is_v4_mapped(ip)) {
		uint8_t v4[4];
		memcpy(v4, ip->bytes + 12, 4);
		memset(ip, 0, sizeof(*ip));
		ip->family = 4;
		memcpy(ip->bytes, v4, 4);
	}
}

int seula_client_ip(const struct seula_ip *peer, const char *xff,
                    const struct seula_cidr *trusted, size_t n_trusted,
                    struct seula_ip *out)
{
	*out = *peer;
	if (!xff || !seula_cidr_list_contains(trusted, n_trusted, peer))
		return SEULA_OK;
	/* No falling back to the last good hop: that is a proxy, the peer
	 * itself when its own entry is broken, and the request would have
	 * the proxy's standing with staff_networks, the login limiter and
	 * the audit log. */
	int rc = SEULA_ETOOBIG;
	size_t end = strlen(xff);
	for (int hops = 0; hops < SEULA_XFF_MAX_HOPS; hops++) {
		size_t start = end;
		while (start > 0 && xff[start - 1] != ',')
			start--;
		struct seula_ip hop;
		if (parse_xff_entry(xff + start, end - start, &hop) !=
		    SEULA_OK) {
			rc = SEULA_EINVAL;
			break;
		}
		unmap(&hop);
		if (start == 0 ||
		    !seula_cidr_list_contains(trusted, n_trusted, &hop)) {
			*out = hop;
			return SEULA_OK;
		}
		end = start - 1;
	}
	memset(out, 0, sizeof(*out));
	out->family = 4;
	return rc;
}

/*
 * cust_retention.h - the register's retention: customers (and with them, by
 * ON DELETE CASCADE, their orders, order lines, disclosures and visitor
 * links) go when their relationship ended longer ago than the configured
 * period, unless a legal hold keeps them: an open invoice, an order in
 * debt collection, an active organisation contact, or
 * statutory_retention_until today or later.  An order dated after the
 * relationship_end moves the end to its day.  Customers without a
 * relationship_end are in a relationship and stay.
 *
 * Plain SQLite, no host: the plugin's periodic task and `seula retention
 * run` (linked into the binary, as labels.c is) call the same function, so
 * the dry run lists exactly whom the task would delete.
 *
 * Ownership: the result's strings are the caller's after a successful
 * call; free them with cust_retention_result_free().
 */
#ifndef CUST_RETENTION_H
#define CUST_RETENTION_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The config key's default: ten years after the relationship ends. */
#define CUST_RETENTION_DEFAULT "10y"

/* The day the relationship of customer `c` (the SQL's alias for the
 * customers row) ended, as retention counts: its relationship_end, or the
 * day of an order after it (the relationship went on); NULL while it has
 * no end.  One expression, so retention and the mailing labels agree. */
#define CUST_RELATIONSHIP_ENDED_SQL                                            \
	"max(c.relationship_end, coalesce((SELECT max(o.date) FROM "           \
	"customer_orders o WHERE o.customer_id = c.id), ''))"

struct cust_retention_result {
	int64_t customers; /* past retention without a hold: deleted (or, in
	                    * a dry run, would be) */
	int64_t orders;    /* their orders */
	int64_t links;     /* their linked visitor ids */
	int64_t held;      /* past retention, kept by a hold */
	char *ids;         /* "4,5,9": the customers' ids, or "" */
	char *held_ids;    /* "7 (open_invoice),8 (active_contact)", or "" */
	/* No relationship_end, and no order, start, change or active contact
	 * for as long as the retention: likely ended, kept until staff say
	 * when (retention counts from that date only), never deleted here. */
	int64_t undated;
	char *undated_ids; /* "3,12", or "" */
	bool more;         /* the limit stopped the run; run again */
};

/* Parse `spec` ("10y": calendar years, "3650d": days; 1-100 years or
 * 1-36500 days) into the SQLite date() modifier that goes back that far
 * ("-10 years").  0, or -1 when it is not one. */
int cust_retention_modifier(const char *spec, char *modifier, size_t len);

/* Find the customers past retention on the day of `now_ms` in IANA zone
 * `zone` (the register's) and, unless `dry_run`, delete up to `limit` of
 * them (secure_delete is on for Seula's connections), inside the caller's
 * transaction.  The dry run changes nothing.  SQLITE errors come back as
 * -1 with err set; 0 on success. */
int cust_retention_run(sqlite3 *db, const char *spec, const char *zone,
                       int64_t now_ms, bool dry_run, int64_t limit,
                       struct cust_retention_result *out, char *err,
                       size_t errlen);

void cust_retention_result_free(struct cust_retention_result *r);

#endif

# The Seula rows of run.sh's http table, in order, one line each:
# name|req/s|p99_ms|us/req.  The name runs up to the first numeric field;
# after it come req/s, ratio, p50, p99, non2xx, sock, us/req.
/^seula / && NF >= 8 {
	for (i = 2; i <= NF && $i !~ /^[0-9]+$/; i++)
		;
	name = $1
	for (j = 2; j < i; j++)
		name = name " " $j
	print name "|" $i "|" $(i + 3) "|" $(i + 6)
}

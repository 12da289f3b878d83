/*
 * t-number.c: pt_parse_f64 against strtod(3) on random and edge-case
 * texts, and the round trip of pt_fmt_f64.
 */
#include "../tap.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <regex.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "number.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t
rnd(void)
{
	/* splitmix64: small, fast, good enough to drive a test */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static unsigned
rn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/*
 * The reference, written from the contract: strip blanks, the rest must
 * be read whole by strtod, and strtod must not skip other white space.
 */
static int
ref_parse(const char *s, size_t len, double *out)
{
	static regex_t num, word;
	static int compiled;
	char buf[512], *end;
	double d;
	int nonzero = 0;

	/* The grammar, written as the manual states it (POSIX EREs), apart
	 * from the parser's own scanning code. */
	if (!compiled) {
		regcomp(&num, "^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)"
		    "([eE][+-]?[0-9]+)?$", REG_EXTENDED | REG_NOSUB);
		regcomp(&word, "^[+-]?(inf|infinity|nan)$", REG_EXTENDED |
		    REG_ICASE | REG_NOSUB);
		compiled = 1;
	}
	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof buf || memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (regexec(&word, buf, 0, NULL, 0) == 0) {
		*out = strtod(buf, NULL);
		return 1;
	}
	if (regexec(&num, buf, 0, NULL, 0) != 0)
		return -1;
	d = strtod(buf, &end);
	if (end != buf + len)
		return -1;
	for (const char *p = buf; *p && *p != 'e' && *p != 'E'; p++)
		nonzero |= *p >= '1' && *p <= '9';
	if (isinf(d) || (nonzero && fabs(d) < DBL_MIN))
		return -2;
	*out = d;
	return 0;
}

static int
same_double(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return memcmp(&a, &b, sizeof a) == 0;
}

static double
rnd_finite(void)
{
	for (;;) {
		uint64_t u = rnd();
		double d;

		memcpy(&d, &u, sizeof d);
		if (isfinite(d))
			return d;
	}
}

static const char *const specials[] = {
	"-0", "0", "+0", "0.0", "-0.0", "0e0", "-0e-999", "0e999", "00000",
	"5e-324", "4.9406564584124654e-324", "2.4703282292062327e-324",
	"2.4703282292062328e-324", "2.2250738585072011e-308",
	"2.2250738585072014e-308", "1e308", "1.7976931348623157e308",
	"1.7976931348623158e308", "1.7976931348623159e308", "1e309", "-1e400",
	"1e-400", "0.1", "0.3", "9007199254740993", "9007199254740992",
	"9007199254740991.5", "1e22", "1e23", "123456789012345678e-22",
	"0x1p3", "0x1.8p-3", "-0X1P-1074", "0x.8", "0x1p", "0xg",
	"inf", "-inf", "+inf", "INF", "infinity", "-Infinity", "nan", "NaN",
	"-nan", "nan(123)", "nan(", "infx", "in",
	"1.2.3", "1e", "1e+", "1e-", "--1", "+-1", "-+1", "", " ", "\t", "1 2",
	"0x", ".", "-.", ".e1", "e1", "1..", "1.e5", ".5", "5.", "-.5e-3",
	" 1", "1 ", "\t-2.5\t ", "\n1", "1\n", "\v1", "1\r", "1,5", "1_000",
	"١", "1e5x", "0.000000000000000000000000000001234",
	"000000000000000000000000123.456", "123.456789", "-999999.999999",
	"18446744073709551615", "18446744073709551616", "9999999999999999999",
	"99999999999999999999", "1000000000000000000000.0", "1E-22", "1e-23",
	/* eight bytes after an optional sign: the 8-byte SWAR path */
	"0.000000", "-0.000000", "+0.000000", "00000000", "-0000000",
	".0000000", "-.0000000", "0000000.", "-0000000.", "9.999999",
	"-9.999999", "99999999", "-99999999", ".9999999", "9999999.",
	"0.702921", "-2.435202", "+1.000000", "12.34567", "123.4567",
	"1234.567", "12345.67", "123456.7", "1234567.", "00000001",
	"0.00000001", "1.2345e7", "1.23e-07", "1.234567e", "1..23456",
	"1.23.456", "..123456", "1.23456.", " 1.23456", "1.23456 ",
	"\t1.23456", "1.2345\t6", "1,234567", "1.234567\r", "-+1.23456",
	"+-1.23456", "--1.23456", "1-234567", "1+234567", "1/234567",
	"1:234567", "1e234567", "0x123456", "1.2\0003456", "nan.1234",
	"infinity",
	/* one to seven bytes: the same path, the word padded with '0's */
	"0", "1", "9", "-1", "+1", "-0", "+0", ".", "-.", "+.", "-", "+",
	".1", "1.", "-.1", "-1.", "10", "00", "0.", ".0", "142.44", "-142.44",
	"1.5", "12", "123", "1234", "12345", "123456", "1234567", "-1234567",
	"+1234567", "1.23456", ".123456", "123456.", "0000001", "0.0.0",
	"1e5", "1e", "e1", "1x", "x1", "1 ", " 1", "1\t", "a", "..", "1..",
	"-0.5", "-.5", "9.", "0.000001", "9999999", ".999999", "1/", ":1",
	"\x80", "1\xff", "-\x80", "nan", "inf", "-", "1-", "1+2",
};

/* Writes a random number-like text into buf; returns its length. */
static size_t
gen(char *buf, size_t cap)
{
	size_t n = 0;
	unsigned i, k;

	switch (rn(10)) {
	case 0: case 1: case 2: { /* digits, point, exponent */
		unsigned nint, nfrac;

		k = rn(8);
		if (k == 0)
			buf[n++] = '-';
		else if (k == 1)
			buf[n++] = '+';
		for (k = rn(4) == 0 ? rn(4) : 0; k > 0; k--)
			buf[n++] = '0';
		nint = rn(26);
		nfrac = rn(4) ? rn(26 - nint) : 0;
		if (nint + nfrac == 0)
			nint = 1;
		for (i = 0; i < nint; i++)
			buf[n++] = (char)('0' + rn(10));
		if (nfrac > 0 || rn(8) == 0) {
			buf[n++] = '.';
			for (i = 0; i < nfrac; i++)
				buf[n++] = (char)('0' + rn(10));
		}
		if (rn(3) == 0)
			n += (size_t)snprintf(buf + n, cap - n, "%c%s%d",
			    rn(2) ? 'e' : 'E', rn(4) ? "" : "+",
			    (int)rn(641) - 330);
		break;
	}
	case 3: case 4: /* 6-decimal values, the common CSV case */
		n = (size_t)snprintf(buf, cap, "%.6f",
		    (double)(rnd() % 100000000000u) / 1e6 * (rn(4) ? 1 : -1));
		break;
	case 5: { /* neighbours one ulp apart */
		double d = rn(2) ? rnd_finite()
		                 : (double)(rnd() % 1000000) * pow(10, (int)rn(40) - 20);

		d = rn(2) ? nextafter(d, INFINITY) : nextafter(d, -INFINITY);
		n = (size_t)snprintf(buf, cap, "%.17g", d);
		break;
	}
	case 6: /* random doubles, shortest-ish and hex */
		k = rn(4);
		n = (size_t)snprintf(buf, cap,
		    k == 0 ? "%.15g" : k == 1 ? "%.16g" : k == 2 ? "%.17g" : "%a",
		    rnd_finite());
		break;
	case 7: { /* subnormals */
		uint64_t u = rnd() >> 12;
		double d;

		memcpy(&d, &u, sizeof d);
		n = (size_t)snprintf(buf, cap, rn(2) ? "%.17g" : "%.3g", d);
		break;
	}
	case 8:
		k = rn(sizeof specials / sizeof specials[0]);
		n = strlen(specials[k]);
		memcpy(buf, specials[k], n);
		break;
	default: { /* junk from a number-ish alphabet */
		static const char alpha[] = "0123456789.eE+-xXpPinfaty \t";

		for (k = rn(7); k > 0; k--)
			buf[n++] = alpha[rn(sizeof alpha - 1)];
		break;
	}
	}
	/* Sometimes blanks around it, sometimes something that is not one. */
	if (rn(8) == 0) {
		static const char *const wrap[] = { " ", "\t", "  ", "\n", "x", "\r" };
		char tmp[256];
		const char *l = wrap[rn(6)], *r = wrap[rn(6)];

		if (rn(2))
			l = "";
		memcpy(tmp, buf, n);
		n = (size_t)snprintf(buf, cap, "%s%.*s%s", l, (int)n, tmp, r);
	}
	return n;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
test_differential(long iters)
{
	char buf[256];
	long i, bad = 0, fast0 = 0, rc1 = 0, rcm1 = 0, rcm2 = 0;

	for (i = 0; i < iters; i++) {
		size_t n = gen(buf, sizeof buf);
		double a = 0, b = 0;
		int ra, rb;

		ra = pt_parse_f64(buf, n, &a);
		rb = ref_parse(buf, n, &b);
		if (ra != rb || (ra >= 0 && !same_double(a, b))) {
			if (bad++ < 10)
				diag("mismatch on \"%.*s\": got %d %.17g, strtod %d %.17g",
				    (int)n, buf, ra, a, rb, b);
		}
		fast0 += ra == 0;
		rc1 += ra == 1;
		rcm1 += ra == -1;
		rcm2 += ra == -2;
	}
	ok(bad == 0, "%ld random texts agree with strtod (%ld mismatches)",
	    iters, bad);
	/* Guard against a generator that tests nothing. */
	ok(fast0 > iters / 2 && rc1 > iters / 1000 && rcm1 > iters / 100 &&
	    rcm2 > iters / 1000, "the mix covers numbers (%ld), inf/nan (%ld), "
	    "non-numbers (%ld), numbers out of range (%ld)", fast0, rc1, rcm1,
	    rcm2);
}

/*
 * The 8-byte path of the parser (number.h, pt_parse_f64_fast8): texts of
 * one to eight bytes after an optional sign (eight most often; the
 * shorter ones are padded with '0's inside the word), digits with at most
 * one point anywhere, each against strtod; then the same texts with one
 * byte spoiled (a second point, a blank, an exponent letter, a sign, a
 * byte just outside '0'..'9', NUL, a high byte), which must fall to the
 * general path and agree there too.  Each text is copied to the end of a
 * heap block of its own size, so that a read past it is caught under
 * ASan.
 */
static void
test_fast8(long iters)
{
	static const char spoil[] = ". \te+-/:xE\0\x80\xff\x2e\x29\x3a";
	char buf[16];
	long i, bad = 0, nums = 0, zeros = 0, spoiled = 0;

	for (i = 0; i < iters; i++) {
		size_t n = 0, j;
		unsigned nd = i % 4 == 3 ? 1 + rn(7) : 8, k = rn(nd + 1);
		unsigned sign = rn(4);
		double a = 0, b = 0;
		char *heap;
		int ra, rb;

		if (sign == 0)
			buf[n++] = '-';
		else if (sign == 1)
			buf[n++] = '+';
		/* k < nd: the point's place; nd: none.  Sometimes all zeros,
		 * sometimes all nines, sometimes leading zeros. */
		for (j = 0; j < nd; j++) {
			unsigned r = rn(16), z = (unsigned)(i % 16);
			buf[n + j] = (char)(z == 0 ? '0' : z == 1 ? '9' :
			    z == 2 && j < 4 ? '0' : '0' + (r < 10 ? r : rn(10)));
		}
		if (k < nd)
			buf[n + k] = '.';
		n += nd;
		if (i % 3 == 2) { /* spoil one byte */
			buf[(size_t)(sign < 2) + rn(nd)] =
			    spoil[rn(sizeof spoil - 1)];
			spoiled++;
		}
		if ((heap = malloc(n)) == NULL)
			abort();
		memcpy(heap, buf, n);
		ra = pt_parse_f64(heap, n, &a);
		free(heap);
		rb = ref_parse(buf, n, &b);
		if (ra != rb || (ra >= 0 && !same_double(a, b))) {
			if (bad++ < 10)
				diag("8-byte path: \"%.*s\": got %d %.17g, "
				    "strtod %d %.17g", (int)n, buf, ra, a, rb, b);
		}
		nums += ra == 0;
		zeros += ra == 0 && a == 0;
		/* pt_parse_f64_exact shares the path. */
		if (ra == 0 && (pt_parse_f64_exact(buf, n, &b) != 0 ||
		    !same_double(a, b)) && bad++ < 10)
			diag("8-byte path, exact: \"%.*s\"", (int)n, buf);
	}
	ok(bad == 0, "%ld texts of the 8-byte shape (%ld numbers, %ld zeros, "
	    "%ld spoiled) agree with strtod", iters, nums, zeros, spoiled);
	ok(nums > iters / 2 && zeros > iters / 40 && nums < iters,
	    "the 8-byte mix covers numbers, zeros and non-numbers");
}

static void
test_specials(void)
{
	size_t i, bad = 0;

	for (i = 0; i < sizeof specials / sizeof specials[0]; i++) {
		const char *s = specials[i];
		double a = 0, b = 0;
		int ra = pt_parse_f64(s, strlen(s), &a);
		int rb = ref_parse(s, strlen(s), &b);

		if (ra != rb || (ra >= 0 && !same_double(a, b))) {
			bad++;
			diag("special \"%s\": got %d %.17g, strtod %d %.17g",
			    s, ra, a, rb, b);
		}
	}
	ok(bad == 0, "%zu edge cases agree with strtod",
	    sizeof specials / sizeof specials[0]);
}

static void
test_fixed(void)
{
	double d = 1;

	ok(pt_parse_f64("-0", 2, &d) == 0 && d == 0 && signbit(d), "-0 is -0.0");
	ok(pt_parse_f64(" \t1.5 \t", 7, &d) == 0 && d == 1.5, "blanks trimmed");
	ok(pt_parse_f64("1.5", 2, &d) == 0 && d == 1, "only len bytes read");
	ok(pt_parse_f64("", 0, &d) == -1, "empty is not a number");
	ok(pt_parse_f64("  ", 2, &d) == -1, "blanks only is not a number");
	ok(pt_parse_f64("1e999", 5, &d) == PT_NUM_RANGE,
	    "a literal that overflows is refused");
	ok(pt_parse_f64("1e-400", 6, &d) == PT_NUM_RANGE,
	    "a non-zero literal that underflows to 0 is refused");
	ok(pt_parse_f64("2.5e-324", 8, &d) == PT_NUM_RANGE,
	    "a literal that underflows to a subnormal is refused");
	ok(pt_parse_f64_exact("5e-324", 6, &d) == 0 && d == 0x1p-1074 &&
	    pt_parse_f64_exact("1e-400", 6, &d) == PT_NUM_RANGE,
	    "the tools' own files read subnormals back, not underflows to 0");
	ok(pt_parse_f64("0e-400", 6, &d) == 0 && d == 0,
	    "zero with any exponent is zero");
	ok(pt_parse_f64("2.2250738585072014e-308", 23, &d) == 0 && d == DBL_MIN,
	    "the least normal double is a number");
	ok(pt_parse_f64("0x1A", 4, &d) == PT_NUM_BAD &&
	    pt_parse_f64("0x1p3", 5, &d) == PT_NUM_BAD, "hex is not a number");
	ok(pt_parse_f64("1.5e", 4, &d) == PT_NUM_BAD &&
	    pt_parse_f64("1e+", 3, &d) == PT_NUM_BAD &&
	    pt_parse_f64(".", 1, &d) == PT_NUM_BAD, "1.5e, 1e+ and . are not");
	ok(pt_parse_f64("5.", 2, &d) == 0 && d == 5 &&
	    pt_parse_f64(".5", 2, &d) == 0 && d == 0.5, "5. and .5 are");
	ok(pt_parse_f64("-Infinity", 9, &d) == 1 && isinf(d) && d < 0,
	    "-Infinity");
	ok(pt_parse_f64("NaN", 3, &d) == 1 && isnan(d), "NaN");
	ok(pt_parse_f64("1\0002", 3, &d) == -1, "embedded NUL rejected");
	ok(pt_parse_f64("0.1", 3, &d) == 0 && d == 0.1, "0.1");
	ok(pt_parse_f64("+7", 2, &d) == 0 && d == 7, "leading + accepted");
	{
		/* a long text goes through the heap copy */
		char big[600];

		memset(big, '0', sizeof big);
		big[0] = '1';
		big[1] = '.';
		ok(pt_parse_f64(big, sizeof big, &d) == 0 && d == 1,
		    "600-character number");
		big[599] = 'x';
		ok(pt_parse_f64(big, sizeof big, &d) == -1,
		    "600-character junk rejected");
	}
}

/* The contract for pt_fmt_f64, computed independently with strtod. */
static int
ref_fmt(char *buf, double x)
{
	static const char *const fmts[] = { "%.15g", "%.16g", "%.17g" };
	int i, n = 0;

	for (i = 0; i < 3; i++) {
		double back;

		n = snprintf(buf, 32, fmts[i], x);
		back = strtod(buf, NULL);
		if (memcmp(&back, &x, sizeof x) == 0)
			break;
	}
	return n;
}

static void
test_fmt(long iters)
{
	char a[32], b[32];
	long i, bad = 0, lens[3] = { 0, 0, 0 };

	for (i = 0; i < iters; i++) {
		uint64_t u = rnd();
		double x, back;
		int n;

		switch (i % 8) {
		case 0: u >>= 12; break;                  /* subnormal */
		case 1: u = (u % 1000000000000u); break;  /* tiny denormal ints */
		default: break;
		}
		memcpy(&x, &u, sizeof x);
		if (i % 8 == 2)
			x = (double)(u % 100000000000u) / 1e6; /* 6 decimals */
		if (!isfinite(x))
			continue;
		n = pt_fmt_f64(a, x);
		back = strtod(a, NULL);
		if (n != (int)strlen(a) || memcmp(&back, &x, sizeof x) != 0 ||
		    ref_fmt(b, x) != n || strcmp(a, b) != 0) {
			if (bad++ < 10)
				diag("fmt %a: got \"%s\", want \"%s\"", x, a, b);
		}
		if (n > 0)
			lens[strchr(a, 'e') ? 2 : strlen(a) < 12 ? 0 : 1]++;
	}
	ok(bad == 0, "pt_fmt_f64 round-trips and is the first of "
	    "%%.15g/%%.16g/%%.17g that does (%ld random doubles, %ld bad)",
	    iters, bad);
	ok(lens[0] > 0 && lens[1] > 0 && lens[2] > 0,
	    "round trip saw short, long and exponent forms");

	ok(pt_fmt_f64(a, -0.0) == 2 && strcmp(a, "-0") == 0, "-0.0 gives -0");
	ok(pt_fmt_f64(a, 0.1) == 3 && strcmp(a, "0.1") == 0, "0.1");
	ok(pt_fmt_f64(a, NAN) == 3 && strcmp(a, "nan") == 0, "nan");
	ok(pt_fmt_f64(a, -NAN) == 3 && strcmp(a, "nan") == 0, "-nan is nan");
	ok(pt_fmt_f64(a, INFINITY) == 3 && strcmp(a, "inf") == 0, "inf");
	ok(pt_fmt_f64(a, -INFINITY) == 4 && strcmp(a, "-inf") == 0, "-inf");
	{
		double x = 5e-324, y = -1.7976931348623157e308, back;

		pt_fmt_f64(a, x);
		back = strtod(a, NULL);
		ok(memcmp(&back, &x, sizeof x) == 0, "smallest subnormal: %s", a);
		pt_fmt_f64(a, y);
		back = strtod(a, NULL);
		ok(memcmp(&back, &y, sizeof y) == 0, "-DBL_MAX: %s", a);
	}
}

static void
speed(int n)
{
	char (*txt)[32] = malloc((size_t)n * sizeof *txt);
	size_t *len = malloc((size_t)n * sizeof *len);
	double t0, t1, t2, sum1 = 0, sum2 = 0;
	int i, fast_ok = 1;

	if (txt == NULL || len == NULL) {
		free(txt);
		free(len);
		return;
	}
	for (i = 0; i < n; i++)
		len[i] = (size_t)snprintf(txt[i], sizeof txt[i], "%.6f",
		    (double)(rnd() % 10000000000u) / 1e6);
	t0 = now();
	for (i = 0; i < n; i++) {
		double d;

		fast_ok &= pt_parse_f64(txt[i], len[i], &d) == 0;
		sum1 += d;
	}
	t1 = now();
	for (i = 0; i < n; i++)
		sum2 += strtod(txt[i], NULL);
	t2 = now();
	ok(fast_ok && sum1 == sum2, "speed sample parsed identically");
	diag("parse \"%%.6f\" values: pt_parse_f64 %.1f M/s, strtod %.1f M/s",
	    n / (t1 - t0) / 1e6, n / (t2 - t1) / 1e6);
	t0 = now();
	for (i = 0; i < n / 4; i++) {
		char b[32];

		pt_fmt_f64(b, (double)(rnd() % 10000000000u) / 1e6);
	}
	t1 = now();
	diag("pt_fmt_f64 on 6-decimal values: %.2f M/s", n / 4 / (t1 - t0) / 1e6);
	free(txt);
	free(len);
}

int
main(void)
{
	int san = getenv("PT_SANITIZE") != NULL;

	test_fixed();
	test_specials();
	test_differential(san ? 300000 : 1200000);
	test_fast8(san ? 300000 : 2000000);
	test_fmt(san ? 20000 : 300000);
	speed(san ? 20000 : 400000);
	return done_testing();
}

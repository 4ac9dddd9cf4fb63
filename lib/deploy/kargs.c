/* SPDX-License-Identifier: MIT */
/*
 * Kernel arguments as the kernel splits them: words separated by spaces, a
 * double-quoted stretch may hold spaces. Words are never rewritten: an
 * edit removes or adds whole words, so quotes and spaces inside a word are
 * kept byte for byte.
 */
#include <string.h>

#include "basic/error.h"
#include "deploy-internal.h"

static bool is_sep(char c)
{
	return c == ' ' || c == '\t';
}

/* Next word of s from *pos: its start and length; false at the end. */
static bool next_word(const char *s, size_t *pos, size_t *ret_start, size_t *ret_len)
{
	size_t i = *pos, start;
	bool quoted = false;

	while (s[i] && is_sep(s[i]))
		i++;
	if (!s[i])
		return false;
	start = i;
	for (; s[i] && (quoted || !is_sep(s[i])); i++)
		if (s[i] == '"')
			quoted = !quoted;
	*ret_start = start;
	*ret_len = i - start;
	*pos = i;
	return true;
}

/* Length of the key of a word: up to the first '=' outside quotes (or the whole word). */
static size_t key_len(const char *w, size_t len)
{
	bool quoted = false;

	for (size_t i = 0; i < len; i++) {
		if (w[i] == '"')
			quoted = !quoted;
		else if (w[i] == '=' && !quoted)
			return i;
	}
	return len;
}

int st_kargs_check(const char *kargs)
{
	size_t n = strlen(kargs), pos = 0, start, len;
	bool quoted = false;

	if (n > ST_KARGS_MAX)
		return st_errf(-EINVAL, "kernel arguments: %zu bytes, more than %d", n, ST_KARGS_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)kargs[i];

		if (c < 0x20 || c == 0x7f)
			return st_errf(-EINVAL, "kernel arguments: control character 0x%02x at byte %zu", c, i);
		if (c == '"')
			quoted = !quoted;
	}
	if (quoted)
		return st_errf(-EINVAL, "kernel arguments: unbalanced '\"' in '%s'", kargs);
	while (next_word(kargs, &pos, &start, &len))
		if (key_len(kargs + start, len) == strlen("sealtree") && strncmp(kargs + start, "sealtree", 8) == 0)
			return st_errf(-EINVAL, "kernel arguments: 'sealtree' is reserved (sealtree=OS/ID is added)");
	return 0;
}

int st_kargs_append(char **kargs, const char *word)
{
	size_t a = strlen(*kargs), b = strlen(word);
	char *n;
	int r;

	r = st_kargs_check(word);
	if (r < 0)
		return r;
	if (b == 0)
		return 0;
	n = malloc(a + 1 + b + 1);
	if (!n)
		return -ENOMEM;
	memcpy(n, *kargs, a);
	if (a > 0)
		n[a++] = ' ';
	memcpy(n + a, word, b + 1);
	r = st_kargs_check(n);
	if (r < 0) {
		free(n);
		return r;
	}
	free(*kargs);
	*kargs = n;
	return 0;
}

/* Rebuild *kargs without the words match() selects (and with repl after the first one replaced). */
static int edit(char **kargs, const char *word, bool by_key, const char *repl, int *ret_count)
{
	const char *s = *kargs;
	size_t wlen = strlen(word), wkey = key_len(word, wlen), pos = 0, start, len, o = 0;
	bool whole = by_key && wkey == wlen;
	char *out = malloc(strlen(s) + strlen(repl ? repl : "") + 2);
	int count = 0;

	if (!out)
		return -ENOMEM;
	while (next_word(s, &pos, &start, &len)) {
		const char *w = s + start;
		bool hit;

		if (whole || repl)
			hit = key_len(w, len) == wkey && memcmp(w, word, wkey) == 0;
		else
			hit = len == wlen && memcmp(w, word, wlen) == 0;
		if (hit) {
			count++;
			if (!repl || count > 1)
				continue;
			w = repl;
			len = strlen(repl);
		}
		if (o > 0)
			out[o++] = ' ';
		memcpy(out + o, w, len);
		o += len;
	}
	out[o] = '\0';
	if (count == 0 && !repl) {
		free(out);
		*ret_count = 0;
		return 0;
	}
	free(*kargs);
	*kargs = out;
	*ret_count = count;
	return 0;
}

int st_kargs_delete(char **kargs, const char *word)
{
	int r, count;

	r = edit(kargs, word, true, NULL, &count);
	return r < 0 ? r : count;
}

int st_kargs_replace(char **kargs, const char *word)
{
	int r, count;

	r = st_kargs_check(word);
	if (r < 0)
		return r;
	r = edit(kargs, word, true, word, &count);
	if (r < 0)
		return r;
	if (count == 0)
		return st_kargs_append(kargs, word);
	return 0;
}

/*
 * Split an options line into the deployment's kargs and the value of its
 * one sealtree= word. -ENOENT if it has none, -EUCLEAN if it has two.
 */
int kargs_split_options(const char *options, char **ret_kargs, char **ret_value)
{
	size_t pos = 0, start, len, o = 0, n = strlen(options);
	_cleanup_free_ char *kargs = malloc(n + 1), *value = NULL;

	if (!kargs)
		return -ENOMEM;
	while (next_word(options, &pos, &start, &len)) {
		if (len > 9 && strncmp(options + start, "sealtree=", 9) == 0) {
			if (value)
				return st_errf(-EUCLEAN, "two sealtree= words in options");
			value = strndup(options + start + 9, len - 9);
			if (!value)
				return -ENOMEM;
			continue;
		}
		if (o > 0)
			kargs[o++] = ' ';
		memcpy(kargs + o, options + start, len);
		o += len;
	}
	kargs[o] = '\0';
	if (!value)
		return -ENOENT;
	/*
	 * Kept exactly: what we write is "KARGS sealtree=VALUE" with one
	 * space, so when the line ends so, KARGS is the bytes before it
	 * (spacing inside included), not the words joined again.
	 */
	{
		size_t tail = strlen(value) + strlen("sealtree=");

		if (n == tail)
			kargs[0] = '\0';
		else if (n > tail && options[n - tail - 1] == ' ' &&
			 strncmp(options + n - tail, "sealtree=", strlen("sealtree=")) == 0 &&
			 !strchr(options + n - tail, ' ') && !strchr(options + n - tail, '\t')) {
			memcpy(kargs, options, n - tail - 1);
			kargs[n - tail - 1] = '\0';
		}
	}
	*ret_kargs = TAKE_PTR(kargs);
	*ret_value = TAKE_PTR(value);
	return 0;
}

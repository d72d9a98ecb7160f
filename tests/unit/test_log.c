/*
 * test_log.c - one-line stderr logging (common/ec_log.c).
 *
 * stderr is redirected to a temporary file for each test; the lines are then read back and
 * matched against the documented format, including from several threads at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ec_log.h"

typedef struct {
    char path[64];
    int saved_fd;
} s_capture_t;

static int s_setup(void **state)
{
    s_capture_t *c = calloc(1, sizeof *c);
    strcpy(c->path, "/tmp/ec_log_test.XXXXXX");
    int fd = mkstemp(c->path);
    if (fd < 0)
        return -1;
    fflush(stderr);
    c->saved_fd = dup(2);
    dup2(fd, 2);
    close(fd);
    *state = c;
    return 0;
}

static int s_teardown(void **state)
{
    s_capture_t *c = *state;
    fflush(stderr);
    dup2(c->saved_fd, 2);
    close(c->saved_fd);
    unlink(c->path);
    free(c);
    ec_log_init("ecert", EC_LOG_INFO);
    return 0;
}

/* Reads the captured output; the caller frees it. */
static char *s_captured(s_capture_t *c)
{
    fflush(stderr);
    FILE *f = fopen(c->path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static const char *s_line_re = "^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]"
                               "\\.[0-9]{3}Z (DEBUG|INFO |WARN |ERROR) [^ ]+ [^\n]*$";

/* Checks every line of buf against the format and returns the number of lines. */
static size_t s_check_lines(char *buf)
{
    regex_t re;
    assert_int_equal(regcomp(&re, s_line_re, REG_EXTENDED | REG_NOSUB), 0);
    size_t lines = 0;
    char *save = NULL;
    assert_true(strlen(buf) == 0 || buf[strlen(buf) - 1] == '\n');
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (regexec(&re, line, 0, NULL, 0) != 0)
            fail_msg("bad log line: %s", line);
        lines++;
    }
    regfree(&re);
    return lines;
}

static void test_format_and_levels(void **state)
{
    s_capture_t *c = *state;
    ec_log_init("testd", EC_LOG_INFO);
    ec_debug("hidden %d", 1);
    ec_info("committed height=%d txs=%d", 12, 400);
    ec_warn("slow");
    ec_error("boom %s", "now");
    char *out = s_captured(c);
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, " INFO  testd committed height=12 txs=400\n"));
    assert_non_null(strstr(out, " WARN  testd slow\n"));
    assert_non_null(strstr(out, " ERROR testd boom now\n"));
    assert_int_equal(s_check_lines(out), 3);
    free(out);

    ec_log_init("testd", EC_LOG_ERROR);
    ec_warn("also hidden");
    ec_log_init("testd", EC_LOG_DEBUG);
    ec_debug("shown");
    out = s_captured(c);
    assert_null(strstr(out, "also hidden"));
    assert_non_null(strstr(out, " DEBUG testd shown\n"));
    free(out);
}

static void test_one_line_per_event(void **state)
{
    s_capture_t *c = *state;
    ec_log_init("testd", EC_LOG_INFO);
    ec_info("evil\ninput\r\x1b[31m here");
    static char big[10000];
    memset(big, 'a', sizeof big - 1);
    ec_info("%s", big);
    char *out = s_captured(c);
    assert_non_null(strstr(out, "evil?input??[31m here\n"));
    assert_non_null(strstr(out, "aaa...\n"));
    assert_int_equal(s_check_lines(out), 2);
    free(out);
}

static void test_level_parse(void **state)
{
    (void)state;
    assert_int_equal(ec_log_level_parse("debug"), EC_LOG_DEBUG);
    assert_int_equal(ec_log_level_parse("info"), EC_LOG_INFO);
    assert_int_equal(ec_log_level_parse("warn"), EC_LOG_WARN);
    assert_int_equal(ec_log_level_parse("error"), EC_LOG_ERROR);
    assert_int_equal(ec_log_level_parse("ERROR"), EC_LOG_ERROR);
    assert_int_equal(ec_log_level_parse("warning"), -1);
    assert_int_equal(ec_log_level_parse(""), -1);
    assert_int_equal(ec_log_level_parse(NULL), -1);
}

#define S_THREADS 4
#define S_LINES 500

static void *s_worker(void *arg)
{
    long id = (long)(intptr_t)arg;
    for (int i = 0; i < S_LINES; i++)
        ec_info("thread=%ld line=%d padding=%s", id, i,
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    return NULL;
}

static void test_threads(void **state)
{
    s_capture_t *c = *state;
    ec_log_init("testd", EC_LOG_INFO);
    pthread_t t[S_THREADS];
    for (long i = 0; i < S_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, s_worker, (void *)(intptr_t)i), 0);
    for (int i = 0; i < S_THREADS; i++)
        pthread_join(t[i], NULL);
    char *out = s_captured(c);
    assert_int_equal(s_check_lines(out), S_THREADS * S_LINES);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_format_and_levels, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_one_line_per_event, s_setup, s_teardown),
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test_setup_teardown(test_threads, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * common/secret_file: the mode whatever the umask, replace and create-only, no temp file left
 * behind either way, names and paths refused before anything is touched.
 */
#include "common/secret_file.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/unit/scratch.h"
#include "test/unit/skip.h"

static char dir[64];

static void make_base(void)
{
	wm_scratch_create("secret");
}

static void remove_base(void)
{
	wm_scratch_remove();
}

/* Each test (its own forked child) gets a fresh directory. */
static void setup(void)
{
	wm_scratch_dir(dir, sizeof(dir));
}

static const char *in_dir(const char *name)
{
	static char path[2][PATH_MAX];
	static int which;

	which ^= 1;
	snprintf(path[which], sizeof(path[which]), "%s/%s", dir, name);
	return path[which];
}

static mode_t mode_of(const char *path)
{
	struct stat sb;

	ck_assert_int_eq(lstat(path, &sb), 0);
	return sb.st_mode & 07777;
}

static const char *content_of(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void put_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* The directory's entries, sorted into one string: "a b " (what a leftover would show in). */
static const char *listing(void)
{
	static char out[1024];
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);

	ck_assert_int_ge(n, 0);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
			strncat(out, names[i]->d_name, sizeof(out) - strlen(out) - 2);
			strcat(out, " ");
		}
		free(names[i]);
	}
	free(names);
	return out;
}

START_TEST(test_mode_whatever_the_umask)
{
	static const mode_t masks[] = { 0, 022, 077, 0277, 0777 };
	char name[16];

	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		mode_t old = umask(masks[i]);

		snprintf(name, sizeof(name), "key%zu", i);
		ck_assert_int_eq(wm_secret_file_write(in_dir(name), "secret\n", 7,
						      WM_SECRET_FILE_REPLACE), 0);
		umask(old);
		ck_assert_msg(mode_of(in_dir(name)) == 0600, "umask %04o gave %04o",
			      (unsigned)masks[i], (unsigned)mode_of(in_dir(name)));
		ck_assert_str_eq(content_of(in_dir(name)), "secret\n");
	}
	ck_assert_str_eq(listing(), "key0 key1 key2 key3 key4 ");
}
END_TEST

START_TEST(test_replace)
{
	put_file(in_dir("state"), "old content that is longer", 0644);
	ck_assert_int_eq(wm_secret_file_write(in_dir("state"), "new", 3, WM_SECRET_FILE_REPLACE), 0);
	ck_assert_str_eq(content_of(in_dir("state")), "new");
	/* A new file, not the old one rewritten: the old mode goes with it. */
	ck_assert_uint_eq(mode_of(in_dir("state")), 0600);
	ck_assert_int_eq(wm_secret_file_write(in_dir("state"), "", 0, WM_SECRET_FILE_REPLACE), 0);
	ck_assert_str_eq(content_of(in_dir("state")), "");
	ck_assert_str_eq(listing(), "state ");
}
END_TEST

START_TEST(test_create_only_when_missing)
{
	ck_assert_int_eq(wm_secret_file_write(in_dir("relay.key"), "one\n", 4,
					      WM_SECRET_FILE_CREATE), 0);
	ck_assert_str_eq(content_of(in_dir("relay.key")), "one\n");
	ck_assert_uint_eq(mode_of(in_dir("relay.key")), 0600);
	ck_assert_int_eq(wm_secret_file_write(in_dir("relay.key"), "two\n", 4,
					      WM_SECRET_FILE_CREATE), -EEXIST);
	ck_assert_str_eq(content_of(in_dir("relay.key")), "one\n");

	/* A dangling link counts as there: nothing is made where it points. */
	ck_assert_int_eq(symlink(in_dir("elsewhere"), in_dir("link")), 0);
	ck_assert_int_eq(wm_secret_file_write(in_dir("link"), "x", 1, WM_SECRET_FILE_CREATE),
			 -EEXIST);
	ck_assert_int_ne(access(in_dir("elsewhere"), F_OK), 0);
	ck_assert_str_eq(listing(), "link relay.key ");
}
END_TEST

/* A crash between creating the temp file and renaming it leaves one, with any mode. */
START_TEST(test_leftover_temp_file)
{
	put_file(in_dir(".node.key.tmp"), "junk from before the crash", 0666);
	ck_assert_int_eq(wm_secret_file_write(in_dir("node.key"), "key\n", 4,
					      WM_SECRET_FILE_REPLACE), 0);
	ck_assert_str_eq(content_of(in_dir("node.key")), "key\n");
	ck_assert_uint_eq(mode_of(in_dir("node.key")), 0600);
	ck_assert_str_eq(listing(), "node.key ");

	put_file(in_dir(".db.tmp"), "junk", 0666);
	ck_assert_int_eq(wm_secret_file_write(in_dir("db"), "", 0, WM_SECRET_FILE_CREATE), 0);
	ck_assert_str_eq(listing(), "db node.key ");
}
END_TEST

/* A rename that fails (a directory holds the name) leaves no temp file. */
START_TEST(test_failure_leaves_nothing)
{
	ck_assert_int_eq(mkdir(in_dir("taken"), 0700), 0);
	ck_assert_int_eq(mkdir(in_dir("taken/inside"), 0700), 0);
	ck_assert_int_lt(wm_secret_file_write(in_dir("taken"), "x", 1, WM_SECRET_FILE_REPLACE), 0);
	ck_assert_str_eq(listing(), "taken ");
	ck_assert_int_eq(wm_secret_file_write(in_dir("taken"), "x", 1, WM_SECRET_FILE_CREATE),
			 -EEXIST);
	ck_assert_str_eq(listing(), "taken ");
}
END_TEST

START_TEST(test_names_and_paths)
{
	char long_name[NAME_MAX + 1];
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	ck_assert_int_ge(dirfd, 0);
	ck_assert_int_eq(wm_secret_file_write_at(dirfd, "a/b", "x", 1, WM_SECRET_FILE_REPLACE),
			 -EINVAL);
	ck_assert_int_eq(wm_secret_file_write_at(dirfd, "", "x", 1, WM_SECRET_FILE_REPLACE),
			 -EINVAL);
	ck_assert_int_eq(wm_secret_file_write_at(dirfd, "..", "x", 1, WM_SECRET_FILE_REPLACE),
			 -EINVAL);
	ck_assert_int_eq(wm_secret_file_write(in_dir(""), "x", 1, WM_SECRET_FILE_REPLACE), -EINVAL);
	/* The name fits, ".NAME.tmp" does not. */
	memset(long_name, 'n', NAME_MAX - 2);
	long_name[NAME_MAX - 2] = '\0';
	ck_assert_int_eq(wm_secret_file_write_at(dirfd, long_name, "x", 1,
						 WM_SECRET_FILE_REPLACE), -ENAMETOOLONG);
	ck_assert_int_eq(wm_secret_file_write(in_dir("no/such/dir"), "x", 1,
					      WM_SECRET_FILE_REPLACE), -ENOENT);
	ck_assert_str_eq(listing(), "");

	/* Through a descriptor, and a name relative to the working directory. */
	ck_assert_int_eq(wm_secret_file_write_at(dirfd, "at", "1", 1, WM_SECRET_FILE_CREATE), 0);
	ck_assert_int_eq(chdir(dir), 0);
	ck_assert_int_eq(wm_secret_file_write("cwd", "2", 1, WM_SECRET_FILE_CREATE), 0);
	ck_assert_int_eq(wm_secret_file_write_at(AT_FDCWD, "cwd", "3", 1, WM_SECRET_FILE_REPLACE),
			 0);
	ck_assert_str_eq(content_of(in_dir("at")), "1");
	ck_assert_str_eq(content_of(in_dir("cwd")), "3");
	ck_assert_str_eq(listing(), "at cwd ");
	close(dirfd);
}
END_TEST

/* An existing file needs nothing of its directory; a new one needs to be allowed there. */
START_TEST(test_read_only_directory)
{
	if (geteuid() == 0)
		WM_SKIP_TEST("root writes into a read-only directory anyway");
	put_file(in_dir("db"), "data", 0600);
	ck_assert_int_eq(chmod(dir, 0500), 0);
	ck_assert_int_eq(wm_secret_file_write(in_dir("db"), "", 0, WM_SECRET_FILE_CREATE), -EEXIST);
	ck_assert_int_eq(wm_secret_file_write(in_dir("new"), "", 0, WM_SECRET_FILE_CREATE), -EACCES);
	ck_assert_int_eq(wm_secret_file_write(in_dir("db"), "x", 1, WM_SECRET_FILE_REPLACE), -EACCES);
	ck_assert_int_eq(chmod(dir, 0700), 0);
	ck_assert_str_eq(content_of(in_dir("db")), "data");
	ck_assert_str_eq(listing(), "db ");
}
END_TEST

static Suite *secret_file_suite(void)
{
	Suite *s = suite_create("secret_file");
	TCase *tc = tcase_create("secret_file");

	tcase_add_unchecked_fixture(tc, make_base, remove_base);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_mode_whatever_the_umask);
	tcase_add_test(tc, test_replace);
	tcase_add_test(tc, test_create_only_when_missing);
	tcase_add_test(tc, test_leftover_temp_file);
	tcase_add_test(tc, test_failure_leaves_nothing);
	tcase_add_test(tc, test_names_and_paths);
	tcase_add_test(tc, test_read_only_directory);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(secret_file_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}

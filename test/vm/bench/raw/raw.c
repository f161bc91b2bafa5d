/*
 * raw: the floor of LIO configuration, for test/vm/bench's config suite.
 * It makes, lists, saves, clears and restores the benchmark's objects with
 * only the configfs operations they need (the mkdir / write / symlink /
 * readlink / rmdir / unlink steps of the kernel's target-export-device
 * example), in one process, with no checks beyond the kernel's own.
 *
 * The objects: N fileio storage objects f1..fN (one HBA each, files of
 * 1 MiB), one iSCSI target with TPG 1, a portal, N LUNs, one ACL with a
 * mapped LUN for each LUN: the same as the batch file the bench gives to
 * targetcli and tcmsh.
 *
 * Usage:
 *   raw create N DIR      make them (backing files DIR/fI.img)
 *   raw ls                walk the target tree as a listing needs: the names,
 *                         each storage object's info, each link's target
 *   raw ls-backstores     the same for the storage objects only
 *   raw save FILE         read what a restore needs, write it to FILE
 *   raw clear             remove every target and storage object
 *   raw restore FILE      make again what FILE says
 *
 * Build: gcc -O2 -static -o raw raw.c
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIO "/sys/kernel/config/target"
#define IQN "iqn.2003-01.org.example.bench:t1"
#define INIT "iqn.1994-05.com.example:bench-init"
#define TPG LIO "/iscsi/" IQN "/tpgt_1"
#define FILE_SIZE 1048576

static int failed;

static const char *path(const char *fmt, va_list ap, char *buf, size_t len)
{
	vsnprintf(buf, len, fmt, ap);
	return buf;
}

static void complain(const char *op, const char *p)
{
	fprintf(stderr, "raw: %s %s: %s\n", op, p, strerror(errno));
	failed = 1;
}

static void mk(const char *fmt, ...)
{
	char p[512];
	va_list ap;
	va_start(ap, fmt);
	if (mkdir(path(fmt, ap, p, sizeof(p)), 0755) != 0 && errno != EEXIST)
		complain("mkdir", p);
	va_end(ap);
}

static void rm(const char *fmt, ...)
{
	char p[512];
	va_list ap;
	va_start(ap, fmt);
	if (rmdir(path(fmt, ap, p, sizeof(p))) != 0)
		complain("rmdir", p);
	va_end(ap);
}

/* put VALUE into the attribute file at fmt: one open, one write. */
static void put(const char *value, const char *fmt, ...)
{
	char p[512];
	va_list ap;
	va_start(ap, fmt);
	path(fmt, ap, p, sizeof(p));
	va_end(ap);
	int fd = open(p, O_WRONLY);
	if (fd < 0) {
		complain("open", p);
		return;
	}
	if (write(fd, value, strlen(value)) < 0)
		complain("write", p);
	close(fd);
}

/* get reads the attribute file at fmt into buf (NUL-terminated). */
static ssize_t get(char *buf, size_t len, const char *fmt, ...)
{
	char p[512];
	va_list ap;
	va_start(ap, fmt);
	path(fmt, ap, p, sizeof(p));
	va_end(ap);
	int fd = open(p, O_RDONLY);
	if (fd < 0) {
		complain("open", p);
		buf[0] = 0;
		return -1;
	}
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n;
}

static void link_to(const char *target, const char *fmt, ...)
{
	char p[512];
	va_list ap;
	va_start(ap, fmt);
	if (symlink(target, path(fmt, ap, p, sizeof(p))) != 0)
		complain("symlink", p);
	va_end(ap);
}

/* so_make creates storage object NAME on HBA fileio_HBA backed by FILE. */
static void so_make(int hba, const char *name, const char *file, long size, const char *serial)
{
	char v[600];
	mk(LIO "/core/fileio_%d", hba);
	mk(LIO "/core/fileio_%d/%s", hba, name);
	snprintf(v, sizeof(v), "fd_dev_name=%s,fd_dev_size=%ld", file, size);
	put(v, LIO "/core/fileio_%d/%s/control", hba, name);
	if (serial && *serial)
		put(serial, LIO "/core/fileio_%d/%s/wwn/vpd_unit_serial", hba, name);
	put("1", LIO "/core/fileio_%d/%s/enable", hba, name);
}

static void target_make(void)
{
	mk(LIO "/iscsi/" IQN);
	mk(TPG);
	mk(TPG "/np/0.0.0.0:3260");
}

static void lun_make(int lun, int hba, const char *name)
{
	char t[512];
	mk(TPG "/lun/lun_%d", lun);
	snprintf(t, sizeof(t), LIO "/core/fileio_%d/%s", hba, name);
	link_to(t, TPG "/lun/lun_%d/%s", lun, name);
}

static void mapped_make(const char *acl, int mlun, int lun)
{
	char t[512];
	mk(TPG "/acls/%s/lun_%d", acl, mlun);
	snprintf(t, sizeof(t), TPG "/lun/lun_%d", lun);
	link_to(t, TPG "/acls/%s/lun_%d/m_%d", acl, mlun, mlun);
}

static int create(int n, const char *dir)
{
	char file[512], name[32];
	for (int i = 1; i <= n; i++) {
		snprintf(file, sizeof(file), "%s/f%d.img", dir, i);
		snprintf(name, sizeof(name), "f%d", i);
		int fd = open(file, O_WRONLY | O_CREAT, 0600);
		if (fd < 0 || ftruncate(fd, FILE_SIZE) != 0)
			complain("create", file);
		if (fd >= 0)
			close(fd);
		so_make(i, name, file, FILE_SIZE, NULL);
	}
	target_make();
	for (int i = 1; i <= n; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		lun_make(i - 1, i, name);
	}
	put("1", TPG "/enable");
	mk(TPG "/acls/" INIT);
	for (int i = 0; i < n; i++)
		mapped_make(INIT, i, i);
	return failed;
}

/* each calls fn(dir, name) for every subdirectory (or link) of dir. */
static void each(const char *dir, int links, void (*fn)(const char *, const char *, void *), void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d) {
		complain("opendir", dir);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if ((links && e->d_type == DT_LNK) || (!links && e->d_type == DT_DIR))
			fn(dir, e->d_name, arg);
	}
	closedir(d);
}

static int is_lun(const char *name) { return strncmp(name, "lun_", 4) == 0; }

static void so_show(const char *hba, const char *name, void *out)
{
	char p[512], info[1024];
	snprintf(p, sizeof(p), "%s/%s/info", hba, name);
	get(info, sizeof(info), "%s", p);
	if (out)
		fprintf(out, "%s %s %s", strrchr(hba, '/') + 1, name, info);
}

static void hba_walk(const char *core, const char *hba, void *out)
{
	char p[512];
	if (strcmp(hba, "alua") == 0)
		return;
	snprintf(p, sizeof(p), "%s/%s", core, hba);
	each(p, 0, so_show, out);
}

static void backstores(FILE *out)
{
	each(LIO "/core", 0, hba_walk, out);
}

static void link_show(const char *dir, const char *name, void *out)
{
	char p[512], t[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ssize_t n = readlink(p, t, sizeof(t) - 1);
	if (n < 0) {
		complain("readlink", p);
		return;
	}
	t[n] = 0;
	if (out)
		fprintf(out, "link %s -> %s\n", p + strlen(LIO) + 1, t);
}

static void dir_links(const char *dir, const char *name, void *out)
{
	char p[512];
	if (!is_lun(name) && !strchr(name, ':'))
		return;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (out)
		fprintf(out, "dir %s\n", p + strlen(LIO) + 1);
	each(p, 1, link_show, out);
}

static void acl_walk(const char *dir, const char *name, void *out)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (out)
		fprintf(out, "acl %s\n", name);
	each(p, 0, dir_links, out);
}

static void tpg_walk(const char *dir, const char *name, void *out)
{
	char p[512];
	if (strncmp(name, "tpgt_", 5) != 0)
		return;
	snprintf(p, sizeof(p), "%s/%s/lun", dir, name);
	each(p, 0, dir_links, out);
	snprintf(p, sizeof(p), "%s/%s/np", dir, name);
	each(p, 0, dir_links, out);
	snprintf(p, sizeof(p), "%s/%s/acls", dir, name);
	each(p, 0, acl_walk, out);
}

static void target_walk(const char *dir, const char *name, void *out)
{
	char p[512];
	if (strcmp(name, "discovery_auth") == 0)
		return;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (out)
		fprintf(out, "target %s\n", name);
	each(p, 0, tpg_walk, out);
}

static int list(int all)
{
	backstores(stdout);
	if (all)
		each(LIO "/iscsi", 0, target_walk, stdout);
	return failed;
}

/* save: per storage object its HBA, name, file, size and serial (from info
 * and wwn), then the LUNs and mapped LUNs (from their links). */
static FILE *save_out;

static void so_save(const char *hba, const char *name, void *arg)
{
	char info[1024], serial[256], *f, *s;
	(void)arg;
	get(info, sizeof(info), "%s/%s/info", hba, name);
	get(serial, sizeof(serial), "%s/%s/wwn/vpd_unit_serial", hba, name);
	f = strstr(info, "File: ");
	s = strstr(info, "Size: ");
	if (!f || !s) {
		fprintf(stderr, "raw: %s/%s: no File:/Size: in info\n", hba, name);
		failed = 1;
		return;
	}
	f += 6;
	f[strcspn(f, " ")] = 0;
	s += 6;
	char *sv = strstr(serial, "Number: ");
	sv = sv ? sv + 8 : "";
	sv[strcspn(sv, "\n")] = 0;
	fprintf(save_out, "so %s %s %s %ld %s\n", strrchr(hba, '/') + 1 + strlen("fileio_"), name, f,
		strtol(s, NULL, 10), sv);
}

static void hba_save(const char *core, const char *hba, void *arg)
{
	char p[512];
	if (strncmp(hba, "fileio_", 7) != 0)
		return;
	snprintf(p, sizeof(p), "%s/%s", core, hba);
	each(p, 0, so_save, arg);
}

static void lun_save(const char *dir, const char *name, void *arg)
{
	char p[512], t[512];
	(void)arg;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ssize_t n = readlink(p, t, sizeof(t) - 1);
	if (n < 0) {
		complain("readlink", p);
		return;
	}
	t[n] = 0;
	/* .../core/fileio_H/NAME */
	char *h = strstr(t, "fileio_");
	if (!h)
		return;
	fprintf(save_out, "lun %s %d %s\n", strrchr(dir, '_') + 1, atoi(h + 7), strrchr(t, '/') + 1);
}

static void lundir_save(const char *dir, const char *name, void *arg)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	each(p, 1, lun_save, arg);
}

static void mapped_save(const char *dir, const char *name, void *arg)
{
	char p[512], t[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ssize_t n = readlink(p, t, sizeof(t) - 1);
	if (n < 0) {
		complain("readlink", p);
		return;
	}
	t[n] = 0;
	fprintf(save_out, "mlun %s %s %s\n", (const char *)arg, strrchr(dir, '_') + 1, strrchr(t, '_') + 1);
}

static void mapped_dir_save(const char *dir, const char *name, void *arg)
{
	char p[512];
	if (!is_lun(name))
		return;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	each(p, 1, mapped_save, arg);
}

static void acl_save(const char *dir, const char *name, void *arg)
{
	char p[512];
	(void)arg;
	fprintf(save_out, "acl %s\n", name);
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	each(p, 0, mapped_dir_save, (void *)name);
}

static int save(const char *file)
{
	if (!(save_out = fopen(file, "w"))) {
		complain("fopen", file);
		return 1;
	}
	each(LIO "/core", 0, hba_save, NULL);
	each(TPG "/lun", 0, lundir_save, NULL);
	each(TPG "/acls", 0, acl_save, NULL);
	fclose(save_out);
	return failed;
}

static int restore(const char *file)
{
	FILE *in = fopen(file, "r");
	char line[1024], a[512], b[512], c[512];
	int target = 0;
	long size;
	int h, l;
	if (!in) {
		complain("fopen", file);
		return 1;
	}
	while (fgets(line, sizeof(line), in)) {
		c[0] = 0;
		if (sscanf(line, "so %d %255s %511s %ld %255s", &h, a, b, &size, c) >= 4) {
			so_make(h, a, b, size, c);
		} else if (sscanf(line, "lun %d %d %255s", &l, &h, a) == 3) {
			if (!target++)
				target_make();
			lun_make(l, h, a);
		} else if (sscanf(line, "acl %255s", a) == 1) {
			if (!target++)
				target_make();
			put("1", TPG "/enable");
			mk(TPG "/acls/%s", a);
		} else if (sscanf(line, "mlun %255s %d %d", a, &h, &l) == 3) {
			mapped_make(a, h, l);
		} else {
			fprintf(stderr, "raw: %s: bad line: %s", file, line);
			failed = 1;
		}
	}
	fclose(in);
	return failed;
}

/* clear: links before the directories that hold them, deepest first. */
static void unlink_in(const char *dir, const char *name, void *arg)
{
	char p[512];
	(void)arg;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (unlink(p) != 0)
		complain("unlink", p);
}

static void rm_with_links(const char *dir, const char *name, void *arg)
{
	char p[512];
	(void)arg;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	each(p, 1, unlink_in, NULL);
	rm("%s", p);
}

static void mlun_clear(const char *dir, const char *name, void *arg)
{
	if (is_lun(name))
		rm_with_links(dir, name, arg);
}

static void acl_clear(const char *dir, const char *name, void *arg)
{
	char p[512];
	(void)arg;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	each(p, 0, mlun_clear, NULL);
	rm("%s", p);
}

static void rm_dir(const char *dir, const char *name, void *arg)
{
	(void)arg;
	rm("%s/%s", dir, name);
}

static void tpg_clear(const char *dir, const char *name, void *arg)
{
	char p[512];
	(void)arg;
	if (strncmp(name, "tpgt_", 5) != 0)
		return;
	snprintf(p, sizeof(p), "%s/%s/acls", dir, name);
	each(p, 0, acl_clear, NULL);
	snprintf(p, sizeof(p), "%s/%s/lun", dir, name);
	each(p, 0, rm_with_links, NULL);
	snprintf(p, sizeof(p), "%s/%s/np", dir, name);
	each(p, 0, rm_dir, NULL);
	rm("%s/%s", dir, name);
}

static void target_clear(const char *dir, const char *name, void *arg)
{
	char p[512];
	(void)arg;
	if (strcmp(name, "discovery_auth") == 0)
		return;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	each(p, 0, tpg_clear, NULL);
	rm("%s", p);
}

static void hba_clear(const char *core, const char *hba, void *arg)
{
	char p[512];
	(void)arg;
	if (strcmp(hba, "alua") == 0)
		return;
	snprintf(p, sizeof(p), "%s/%s", core, hba);
	each(p, 0, rm_dir, NULL);
	rm("%s", p);
}

static int clear(void)
{
	struct stat st;
	if (stat(LIO "/iscsi", &st) == 0)
		each(LIO "/iscsi", 0, target_clear, NULL);
	each(LIO "/core", 0, hba_clear, NULL);
	return failed;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "create") == 0)
		return create(atoi(argv[2]), argv[3]);
	if (argc == 2 && strcmp(argv[1], "ls") == 0)
		return list(1);
	if (argc == 2 && strcmp(argv[1], "ls-backstores") == 0)
		return list(0);
	if (argc == 3 && strcmp(argv[1], "save") == 0)
		return save(argv[2]);
	if (argc == 2 && strcmp(argv[1], "clear") == 0)
		return clear();
	if (argc == 3 && strcmp(argv[1], "restore") == 0)
		return restore(argv[2]);
	fprintf(stderr, "usage: raw create N DIR | ls | ls-backstores | save FILE | clear | restore FILE\n");
	return 2;
}

/*
 * cref: the smallest TCMU handler worth measuring, the floor of the
 * userspace path in test/vm/bench. RAM-backed, single-threaded, written
 * from the loop the kernel's TCMU design document describes: a blocking
 * 4-byte read of the uio fd, every ring entry from tail to head, one 4-byte
 * write to tell the kernel. No netlink, no threads, no clock reads.
 *
 * Commands: TEST UNIT READY, INQUIRY (standard, VPD 0x00 0x80 0x83), READ
 * CAPACITY(10) and (16), MODE SENSE(6) and (10) (caching page, or all
 * pages), READ and WRITE (6) (10) (16), SYNCHRONIZE CACHE (10) (16).
 * Anything else: CHECK CONDITION, ILLEGAL REQUEST.
 *
 * Usage: cref NAME SIZE_BYTES
 *   serves the user backstore NAME (its uio device is found by the name
 *   tcm-user/<hba>/NAME/...), SIZE_BYTES of zeroed RAM, 512-byte blocks,
 *   until killed. Prints "cref: serving /dev/uioN" once the ring is mapped.
 *
 * Build: gcc -O2 -static -o cref cref.c (needs linux-libc-dev for the uapi).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The TCMU shared region (include/uapi/linux/target_core_user.h, version
 * 2), declared here because that header's struct tcmu_iovec clashes with libc's. */
struct tcmu_mailbox {
	uint16_t version;
	uint16_t flags;
	uint32_t cmdr_off;
	uint32_t cmdr_size;
	uint32_t cmd_head;
	uint8_t pad[64 - 16];
	uint32_t cmd_tail;
} __attribute__((packed));

struct tcmu_iovec {
	uint64_t base; /* offset from the start of the region */
	uint64_t len;
};

struct tcmu_cmd_entry {
	uint32_t len_op;
	uint16_t cmd_id;
	uint8_t kflags;
	uint8_t uflags;
	union {
		struct {
			uint32_t iov_cnt;
			uint32_t iov_bidi_cnt;
			uint32_t iov_dif_cnt;
			uint64_t cdb_off;
			uint64_t pad1, pad2;
			struct tcmu_iovec iov[];
		} req; /* not packed: cdb_off sits at 24, iov at 48 */
		struct {
			uint8_t scsi_status;
			uint8_t pad1;
			uint16_t pad2;
			uint32_t read_len;
			uint8_t sense_buffer[96];
		} rsp;
	};
} __attribute__((packed));

#define TCMU_OP_PAD 0
#define TCMU_OP_CMD 1
#define TCMU_OP_TMR 2
#define TCMU_UFLAG_UNKNOWN_OP 0x1
#define hdr_op(len_op) ((len_op) & 0x7)
#define hdr_len(len_op) ((len_op) & ~0x7u)

_Static_assert(sizeof(struct tcmu_mailbox) == 68, "mailbox layout");
_Static_assert(__builtin_offsetof(struct tcmu_cmd_entry, req.iov) == 48, "entry layout");
_Static_assert(__builtin_offsetof(struct tcmu_cmd_entry, rsp.sense_buffer) == 16, "entry layout");

#define BLOCK 512u
#define GOOD 0x00
#define CHECK_CONDITION 0x02

static uint8_t *disk;
static uint64_t disk_blocks;
static char dev_name[64];

static void die(const char *what)
{
	fprintf(stderr, "cref: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* find_uio sets path to /dev/uioN of the device whose uio name is
 * tcm-user/<hba>/NAME/... and returns the map size, or 0. */
static uint64_t find_uio(const char *name, char *path, size_t len)
{
	DIR *d = opendir("/sys/class/uio");
	struct dirent *e;
	char buf[512], want[128];
	uint64_t size = 0;

	if (!d)
		die("/sys/class/uio");
	snprintf(want, sizeof(want), "/%s/", name);
	while ((e = readdir(d)) != NULL) {
		FILE *f;
		if (strncmp(e->d_name, "uio", 3) != 0)
			continue;
		snprintf(buf, sizeof(buf), "/sys/class/uio/%s/name", e->d_name);
		if (!(f = fopen(buf, "r")))
			continue;
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
		/* tcm-user/<hba>/<name>/<subtype>/<cfg>: match the third field. */
		char *p = strchr(buf, '/');
		p = p ? strchr(p + 1, '/') : NULL;
		if (strncmp(buf, "tcm-user/", 9) != 0 || !p || strncmp(p, want, strlen(want)) != 0)
			continue;
		snprintf(buf, sizeof(buf), "/sys/class/uio/%s/maps/map0/size", e->d_name);
		if (!(f = fopen(buf, "r")))
			die(buf);
		if (fscanf(f, "%lx", &size) != 1)
			size = 0;
		fclose(f);
		snprintf(path, len, "/dev/%s", e->d_name);
		break;
	}
	closedir(d);
	return size;
}

/* sense sets CHECK CONDITION with fixed-format sense KEY/ASC/ASCQ. */
static uint8_t sense(struct tcmu_cmd_entry *ent, uint8_t key, uint8_t asc, uint8_t ascq)
{
	uint8_t *s = (uint8_t *)ent->rsp.sense_buffer;
	memset(s, 0, 18);
	s[0] = 0x70;
	s[2] = key;
	s[7] = 10;
	s[12] = asc;
	s[13] = ascq;
	return CHECK_CONDITION;
}
#define ILLEGAL_REQUEST 0x05
#define INVALID_OPCODE 0x20, 0x00
#define INVALID_FIELD 0x24, 0x00
#define LBA_OUT_OF_RANGE 0x21, 0x00

/* to_iov copies LEN bytes of BUF into the command's data-in iovecs and
 * zero-fills the rest of them. */
static void to_iov(uint8_t *mb, struct tcmu_iovec *iov, uint32_t n, const uint8_t *buf, size_t len)
{
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *dst = mb + iov[i].base;
		size_t l = iov[i].len, c = len < l ? len : l;
		memcpy(dst, buf, c);
		memset(dst + c, 0, l - c);
		buf += c;
		len -= c;
	}
}

static size_t inquiry(const uint8_t *cdb, uint8_t *r, int *bad)
{
	static const char serial[] = "cref0000000000000001";
	*bad = 0;
	if (!(cdb[1] & 1)) {
		if (cdb[2]) {
			*bad = 1;
			return 0;
		}
		memset(r, ' ', 36);
		r[0] = 0x00;	/* direct access block device */
		r[1] = 0;
		r[2] = 0x05;	/* SPC-3 */
		r[3] = 0x02;	/* response data format 2 */
		r[4] = 31;
		r[5] = 0;
		r[6] = 0;
		r[7] = 0x02;	/* CMDQUE */
		memcpy(r + 8, "LIO-ORG ", 8);
		memcpy(r + 16, dev_name, strnlen(dev_name, 16));
		memcpy(r + 32, "0001", 4);
		return 36;
	}
	switch (cdb[2]) {
	case 0x00:
		r[0] = 0; r[1] = 0; r[2] = 0; r[3] = 3;
		r[4] = 0x00; r[5] = 0x80; r[6] = 0x83;
		return 7;
	case 0x80:
		r[0] = 0; r[1] = 0x80; r[2] = 0; r[3] = sizeof(serial) - 1;
		memcpy(r + 4, serial, sizeof(serial) - 1);
		return 4 + sizeof(serial) - 1;
	case 0x83: {
		/* One designator: NAA IEEE registered (type 3, binary). */
		static const uint8_t naa[8] = {0x50, 0x01, 0x40, 0x5c, 0x0e, 0xf0, 0x00, 0x01};
		r[0] = 0; r[1] = 0x83; r[2] = 0; r[3] = 12;
		r[4] = 0x01; r[5] = 0x03; r[6] = 0; r[7] = 8;
		memcpy(r + 8, naa, 8);
		return 16;
	}
	}
	*bad = 1;
	return 0;
}

/* caching_page writes the caching mode page (WCE off) at p. */
static size_t caching_page(uint8_t *p)
{
	memset(p, 0, 20);
	p[0] = 0x08;
	p[1] = 18;
	return 20;
}

/* handle runs one SCSI command and returns its SCSI status. The request
 * view of ent is read in full before the response view is written: they
 * share bytes. */
static uint8_t handle(uint8_t *mb, struct tcmu_cmd_entry *ent)
{
	uint8_t cdb[16], r[256];
	uint32_t n = ent->req.iov_cnt;
	struct tcmu_iovec iov[1024];
	uint64_t lba = 0, blocks = 0;
	int write = 0, bad;
	size_t len;

	memcpy(cdb, mb + ent->req.cdb_off, sizeof(cdb));
	if (n > 1024) /* more than 4 MiB in 4 KiB pieces: not sent by sd here */
		return sense(ent, ILLEGAL_REQUEST, INVALID_FIELD);
	memcpy(iov, ent->req.iov, n * sizeof(struct tcmu_iovec));

	switch (cdb[0]) {
	case 0x00: /* TEST UNIT READY */
	case 0x35: /* SYNCHRONIZE CACHE(10) */
	case 0x91: /* SYNCHRONIZE CACHE(16) */
		return GOOD;
	case 0x12: /* INQUIRY */
		len = inquiry(cdb, r, &bad);
		if (bad)
			return sense(ent, ILLEGAL_REQUEST, INVALID_FIELD);
		to_iov(mb, iov, n, r, len);
		return GOOD;
	case 0x25: /* READ CAPACITY(10) */
		put_be(r, disk_blocks - 1 > 0xffffffffu ? 0xffffffffu : disk_blocks - 1, 4);
		put_be(r + 4, BLOCK, 4);
		to_iov(mb, iov, n, r, 8);
		return GOOD;
	case 0x9e: /* SERVICE ACTION IN(16) */
		if ((cdb[1] & 0x1f) != 0x10) /* READ CAPACITY(16) only */
			return sense(ent, ILLEGAL_REQUEST, INVALID_OPCODE);
		memset(r, 0, 32);
		put_be(r, disk_blocks - 1, 8);
		put_be(r + 8, BLOCK, 4);
		to_iov(mb, iov, n, r, 32);
		return GOOD;
	case 0x1a: /* MODE SENSE(6) */
	case 0x5a: { /* MODE SENSE(10) */
		uint8_t page = cdb[2] & 0x3f;
		size_t hdr = cdb[0] == 0x1a ? 4 : 8;
		if (page != 0x08 && page != 0x3f)
			return sense(ent, ILLEGAL_REQUEST, INVALID_FIELD);
		memset(r, 0, hdr);
		len = hdr + caching_page(r + hdr);
		if (hdr == 4)
			r[0] = (uint8_t)(len - 1);
		else
			put_be(r, len - 2, 2);
		to_iov(mb, iov, n, r, len);
		return GOOD;
	}
	case 0x08: case 0x0a: /* READ(6) WRITE(6) */
		lba = be(cdb + 1, 3) & 0x1fffff;
		blocks = cdb[4] ? cdb[4] : 256;
		write = cdb[0] == 0x0a;
		break;
	case 0x28: case 0x2a: /* READ(10) WRITE(10) */
		lba = be(cdb + 2, 4);
		blocks = be(cdb + 7, 2);
		write = cdb[0] == 0x2a;
		break;
	case 0x88: case 0x8a: /* READ(16) WRITE(16) */
		lba = be(cdb + 2, 8);
		blocks = be(cdb + 10, 4);
		write = cdb[0] == 0x8a;
		break;
	default:
		return sense(ent, ILLEGAL_REQUEST, INVALID_OPCODE);
	}
	if (lba > disk_blocks || blocks > disk_blocks - lba)
		return sense(ent, ILLEGAL_REQUEST, LBA_OUT_OF_RANGE);
	uint8_t *p = disk + lba * BLOCK, *end = p + blocks * BLOCK;
	for (uint32_t i = 0; i < n && p < end; i++) {
		uint8_t *d = mb + iov[i].base;
		size_t l = iov[i].len;
		if (l > (size_t)(end - p))
			l = (size_t)(end - p);
		if (write)
			memcpy(p, d, l);
		else
			memcpy(d, p, l);
		p += l;
	}
	return GOOD;
}

int main(int argc, char **argv)
{
	char path[300];
	uint64_t map_size, size;
	uint32_t buf;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: cref NAME SIZE_BYTES\n");
		return 2;
	}
	snprintf(dev_name, sizeof(dev_name), "%s", argv[1]);
	size = strtoull(argv[2], NULL, 0);
	disk_blocks = size / BLOCK;
	if (!disk_blocks) {
		fprintf(stderr, "cref: size %s is less than a block\n", argv[2]);
		return 2;
	}
	if (!(disk = calloc(disk_blocks, BLOCK)))
		die("calloc");
	if (!(map_size = find_uio(argv[1], path, sizeof(path)))) {
		fprintf(stderr, "cref: no uio device for user backstore %s\n", argv[1]);
		return 1;
	}
	if ((fd = open(path, O_RDWR)) < 0)
		die(path);
	uint8_t *mb = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mb == MAP_FAILED)
		die("mmap");
	struct tcmu_mailbox *box = (struct tcmu_mailbox *)mb;
	if (box->version != 2) {
		fprintf(stderr, "cref: mailbox version %u, want 2\n", box->version);
		return 1;
	}
	printf("cref: serving %s\n", path);
	fflush(stdout);

	for (;;) {
		uint8_t *ring = mb + box->cmdr_off;
		uint32_t tail = box->cmd_tail, did = 0;
		uint32_t head = __atomic_load_n(&box->cmd_head, __ATOMIC_ACQUIRE);
		while (tail != head) {
			struct tcmu_cmd_entry *ent = (struct tcmu_cmd_entry *)(ring + tail);
			uint32_t op = hdr_op(ent->len_op);
			if (op == TCMU_OP_CMD)
				ent->rsp.scsi_status = handle(mb, ent);
			else if (op != TCMU_OP_PAD && op != TCMU_OP_TMR)
				ent->uflags |= TCMU_UFLAG_UNKNOWN_OP;
			tail = (tail + hdr_len(ent->len_op)) % box->cmdr_size;
			__atomic_store_n(&box->cmd_tail, tail, __ATOMIC_RELEASE);
			did = 1;
			if (tail == head)
				head = __atomic_load_n(&box->cmd_head, __ATOMIC_ACQUIRE);
		}
		if (did && write(fd, &buf, 4) != 4)
			die("write uio");
		if (read(fd, &buf, 4) != 4)
			die("read uio");
	}
}

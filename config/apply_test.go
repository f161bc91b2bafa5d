package config

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/sim"
)

// newStore returns a Store over a fresh simulated kernel, no engine, its
// warnings in the returned buffer.
func newStore(t *testing.T) (Store, *bytes.Buffer, string) {
	t.Helper()
	dir := t.TempDir()
	k, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	l, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim", LockPath: filepath.Join(dir, "hba.lock")})
	if err != nil {
		t.Fatal(err)
	}
	var warn bytes.Buffer
	return Store{LIO: l, Warn: &warn}, &warn, dir
}

func marshal(t *testing.T, st Store) string {
	t.Helper()
	cfg, err := st.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := cfg.MarshalSaveconfig()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sample is a configuration using every part of the model: two storage
// objects (one with an ALUA group), an iSCSI target with a LUN, a portal,
// an ACL with a mapped LUN and CHAP, and a loopback target.
func sample(img string) *Config {
	return &Config{
		StorageObjects: []*SOConf{
			{Plugin: "fileio", Name: "f", Dev: img, Size: 1 << 20, WriteBack: true, Attributes: map[string]string{"block_size": "4096"},
				ALUA: []*ALUAConf{{Name: "east", Fields: map[string]string{"tg_pt_gp_id": "7"}}}},
			{Plugin: "ramdisk", Name: "r", Size: 1 << 20, Attributes: map[string]string{}},
		},
		Targets: []*TargetConf{
			{Fabric: "iscsi", WWN: "iqn.2003-01.org.example:a", TPGs: []*TPGConf{{Tag: 1, Enable: true,
				Attributes: map[string]string{"authentication": "1"}, Auth: map[string]string{"chap_userid": "u", "chap_password": "p"},
				LUNs:    []*LUNConf{{Index: 0, StorageObject: "/backstores/fileio/f", ALUAGroup: "east"}, {Index: 3, StorageObject: "/backstores/ramdisk/r"}},
				Portals: []*PortalConf{{IP: "0.0.0.0", Port: 3260}},
				ACLs: []*ACLConf{{WWN: "iqn.1994-05.com.redhat:client", Tag: "g1",
					MappedLUNs: []*MappedLUNConf{{Index: 0, TPGLUN: 0}, {Index: 1, TPGLUN: 3, WriteProtect: true}}}}}}},
			{Fabric: "loopback", WWN: "naa.5001405aaaaaaaaa", TPGs: []*TPGConf{{Tag: 1, Nexus: "naa.5001405bbbbbbbbb",
				LUNs: []*LUNConf{{Index: 0, StorageObject: "/backstores/ramdisk/r"}}}}},
		},
	}
}

// TestApplyIsDeclarative: applying a configuration makes the kernel hold
// it; a plan against the result is empty; applying the empty one deletes
// it all.
func TestApplyIsDeclarative(t *testing.T) {
	st, warn, dir := newStore(t)
	ctx := context.Background()
	want := sample(filepath.Join(dir, "f.img"))
	plan, err := st.Apply(ctx, want, PlanOptions{})
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, warn)
	}
	if len(plan.Steps) == 0 {
		t.Fatal("no steps")
	}
	have, err := st.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if again := st.MakePlan(have, want, PlanOptions{}); len(again.Steps) != 0 {
		t.Errorf("a second plan is not empty: %v", again.Steps)
	}
	if got := have.Targets[0].TPGs[0]; !got.Enable || got.Auth["chap_userid"] != "u" || len(got.ACLs) != 1 || got.ACLs[0].Tag != "g1" ||
		len(got.ACLs[0].MappedLUNs) != 2 || !got.ACLs[0].MappedLUNs[1].WriteProtect || got.LUNs[0].ALUAGroup != "east" {
		t.Errorf("TPG read back: %+v", got)
	}
	if got := have.Targets[1].TPGs[0].Nexus; got != "naa.5001405bbbbbbbbb" {
		t.Errorf("loopback nexus %q", got)
	}
	// Removing everything: deletions only (a storage object's deletion
	// takes the LUNs exporting it along, as targetcli's does).
	down := st.MakePlan(have, &Config{}, PlanOptions{})
	if len(down.Steps) != 4 {
		t.Errorf("plan to the empty configuration: %v", down.Steps)
	}
	for i, s := range down.Steps {
		if s.Op != "delete" {
			t.Errorf("step %d %v is not a deletion", i, s)
		}
	}
	if _, err := st.Apply(ctx, &Config{}, PlanOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := marshal(t, st); got != "{\n  \"fabric_modules\": [],\n  \"storage_objects\": [],\n  \"targets\": []\n}\n" {
		t.Errorf("after applying the empty configuration:\n%s", got)
	}
}

// TestPlanChangesInPlace: attribute, flag and mapping changes are changes,
// not deletions; a storage object whose backing differs is made again and
// the LUNs exporting it are made again after it.
func TestPlanChangesInPlace(t *testing.T) {
	st, warn, dir := newStore(t)
	ctx := context.Background()
	if _, err := st.Apply(ctx, sample(filepath.Join(dir, "f.img")), PlanOptions{}); err != nil {
		t.Fatalf("apply: %v\n%s", err, warn)
	}
	have, _ := st.Snapshot()
	want := sample(filepath.Join(dir, "f.img"))
	tpg := want.Targets[0].TPGs[0]
	tpg.Enable = false
	tpg.ACLs[0].MappedLUNs[0].WriteProtect = true
	tpg.ACLs[0].Tag = "g2"
	want.StorageObjects[1].Size = 2 << 20 // the ramdisk is made again
	plan := st.MakePlan(have, want, PlanOptions{})
	var got []string
	for _, s := range plan.Steps {
		got = append(got, s.String())
	}
	text := strings.Join(got, "\n")
	for _, w := range []string{
		"~ change /iscsi/iqn.2003-01.org.example:a/tpg1: disable",
		"~ change /iscsi/iqn.2003-01.org.example:a/tpg1/acls/iqn.1994-05.com.redhat:client/mapped_lun0: write_protect=true",
		"~ change /iscsi/iqn.2003-01.org.example:a/tpg1/acls/iqn.1994-05.com.redhat:client: tag=g2",
		// The mapping of a LUN made again is made again.
		"+ create /iscsi/iqn.2003-01.org.example:a/tpg1/acls/iqn.1994-05.com.redhat:client/mapped_lun1: lun3",
		"~ change /backstores/ramdisk/r: made again: 2.0MiB",
		"+ create /iscsi/iqn.2003-01.org.example:a/tpg1/luns/lun3: /backstores/ramdisk/r",
		"+ create /loopback/naa.5001405aaaaaaaaa/luns/lun0: /backstores/ramdisk/r",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("plan lacks %q:\n%s", w, text)
		}
	}
	if strings.Contains(text, "- delete") {
		t.Errorf("plan deletes:\n%s", text)
	}
	if err := st.Execute(ctx, plan); err != nil {
		t.Fatalf("execute: %v", err)
	}
	now, _ := st.Snapshot()
	if again := st.MakePlan(now, want, PlanOptions{}); len(again.Steps) != 0 {
		t.Errorf("not there yet: %v", again.Steps)
	}
}

// TestPlanLeavesOutAttributesTheKernelLacks: a file naming attributes,
// parameters or ALUA fields the kernel does not have (another kernel
// version's, a misspelling) plans no change for them on objects that
// exist, as apply skips them with a warning: diff after apply finds
// nothing to do. A new object's plan still lists them (apply warns).
func TestPlanLeavesOutAttributesTheKernelLacks(t *testing.T) {
	st, warn, dir := newStore(t)
	ctx := context.Background()
	want := sample(filepath.Join(dir, "f.img"))
	want.StorageObjects[0].Attributes["blocx_size"] = "512"
	want.StorageObjects[0].ALUA[0].Fields["no_such_field"] = "1"
	tpg := want.Targets[0].TPGs[0]
	tpg.Attributes["no_such_attribute"] = "1"
	tpg.Parameters = map[string]string{"NoSuchParameter": "x"}
	tpg.ACLs[0].Attributes = map[string]string{"no_such_acl_attribute": "1"}
	if _, err := st.Apply(ctx, want, PlanOptions{}); err != nil {
		t.Fatalf("apply: %v\n%s", err, warn)
	}
	for _, w := range []string{"blocx_size; skipped", "no_such_field; skipped", "no_such_attribute; skipped", "NoSuchParameter; skipped", "no_such_acl_attribute; skipped"} {
		if !strings.Contains(warn.String(), w) {
			t.Errorf("apply warned no %q:\n%s", w, warn)
		}
	}
	have, err := st.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if again := st.MakePlan(have, want, PlanOptions{}); len(again.Steps) != 0 {
		t.Errorf("plan after apply lists what apply skips: %v", again.Steps)
	}
	// A value the kernel has is still a change.
	want.StorageObjects[0].Attributes["block_size"] = "512"
	plan := st.MakePlan(have, want, PlanOptions{})
	if len(plan.Steps) != 1 || !strings.Contains(plan.Steps[0].What, "block_size=512") || strings.Contains(plan.Steps[0].What, "blocx") {
		t.Errorf("plan of a block_size change: %v", plan.Steps)
	}
}

// TestFailingApplyRemovesItsImages: a failed apply puts the configuration
// back and removes the image files its steps made; inside a run (an Undo
// log kept by the caller), a successful apply's image is undone with it.
func TestFailingApplyRemovesItsImages(t *testing.T) {
	st, _, dir := newStore(t)
	img := filepath.Join(dir, "a.img")
	want := &Config{StorageObjects: []*SOConf{
		{Plugin: "fileio", Name: "a", Dev: img, Size: 1 << 20, Attributes: map[string]string{}},
		{Plugin: "ramdisk", Name: "z", Size: 1 << 20, Attributes: map[string]string{"block_size": "333"}},
	}}
	before := marshal(t, st)
	_, err := st.Apply(context.Background(), want, PlanOptions{KeepExtra: true})
	if err == nil || !strings.Contains(err.Error(), "the previous configuration is back; removed "+img+", made by the run") {
		t.Fatalf("apply: %v", err)
	}
	if _, err := os.Stat(img); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the image apply made is still there: %v", err)
	}
	if got := marshal(t, st); got != before {
		t.Errorf("configuration after the failed apply:\n%s", got)
	}

	ok := &Config{StorageObjects: []*SOConf{{Plugin: "fileio", Name: "a", Dev: img, Size: 1 << 20, Attributes: map[string]string{}}}}
	st.Undo = &Undo{}
	mark := st.Undo.Mark()
	if _, err := st.Apply(context.Background(), ok, PlanOptions{KeepExtra: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(img); err != nil {
		t.Fatal(err)
	}
	cfg, _ := ParseSaveconfig([]byte(before))
	done, rerr := st.Rollback(cfg, mark)
	if rerr != nil || len(done) != 1 {
		t.Errorf("rollback: %q %v", done, rerr)
	}
	if _, err := os.Stat(img); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the image is still there: %v", err)
	}
}

// TestRestore: restoreconfig's checks (what exists already, a partial
// restore's references) come before any change; a full restore with
// clear_existing replaces the configuration.
func TestRestore(t *testing.T) {
	st, warn, dir := newStore(t)
	ctx := context.Background()
	cfg := sample(filepath.Join(dir, "f.img"))
	data, err := cfg.MarshalSaveconfig()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "saveconfig.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// Only the loopback target: its LUN's storage object is neither in
	// the kernel nor restored.
	if _, err := st.Restore(ctx, file, RestoreOptions{Target: "naa.5001405aaaaaaaaa"}); err == nil ||
		!strings.Contains(err.Error(), "no storage object /backstores/ramdisk/r") {
		t.Errorf("partial restore without its storage object: %v", err)
	}
	if _, err := st.Restore(ctx, file, RestoreOptions{Target: "naa.5001405aaaaaaaaa", StorageObject: "r"}); err != nil {
		t.Fatalf("partial restore: %v\n%s", err, warn)
	}
	if _, err := st.Restore(ctx, file, RestoreOptions{}); err == nil || !strings.Contains(err.Error(), "/backstores/ramdisk/r already exists") {
		t.Errorf("restore over existing objects: %v", err)
	}
	if _, err := st.Restore(ctx, file, RestoreOptions{Target: "nope"}); err == nil || !strings.Contains(err.Error(), `has no target "nope"`) {
		t.Errorf("restore of a missing target: %v", err)
	}
	if _, err := st.Restore(ctx, file, RestoreOptions{ClearExisting: true}); err != nil {
		t.Fatalf("full restore: %v\n%s", err, warn)
	}
	have, _ := st.Snapshot()
	if left := st.MakePlan(have, cfg, PlanOptions{}); len(left.Steps) != 0 {
		t.Errorf("the kernel differs from the file after the restore: %v", left.Steps)
	}
}

// TestCreateBackstoreRefusedLeavesNothing: a refused create makes no image
// file and no object; a user backstore without Hooks is made with a warning.
func TestCreateBackstoreRefusedLeavesNothing(t *testing.T) {
	st, warn, dir := newStore(t)
	ctx := context.Background()
	img := filepath.Join(dir, "x.img")
	_, _, err := st.CreateBackstore(ctx, BackstoreSpec{Plugin: "fileio", Name: "x", Dev: img, Size: 1 << 20, Sparse: true, WWN: "not-a-uuid"})
	var ue *UsageError
	if !errors.As(err, &ue) {
		t.Fatalf("bad wwn: %v", err)
	}
	if _, err := os.Stat(img); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused create left its image: %v", err)
	}
	if _, _, err := st.CreateBackstore(ctx, BackstoreSpec{Plugin: "rd_mcp", Name: "tiny", Size: 100}); !errors.As(err, &ue) {
		t.Errorf("a ramdisk below a page: %v", err)
	}
	so, msg, err := st.CreateBackstore(ctx, BackstoreSpec{Plugin: "user", Name: "u", Size: 1 << 20, Config: "ram/"})
	if err != nil {
		t.Fatal(err)
	}
	if msg != "Created user-backed storage object u size 1048576." || so.Name != "u" {
		t.Errorf("message %q, object %v", msg, so)
	}
	if !strings.Contains(warn.String(), "nothing serves it") {
		t.Errorf("no warning that nothing serves it: %q", warn)
	}
}

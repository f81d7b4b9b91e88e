package boltfile

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
)

func TestBucket(t *testing.T) {
	f, err := Open(filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := f.Bucket("b")
	t.Run("EmptyBucket", func(t *testing.T) {
		if v, err := b.Get([]byte("x")); v != nil || err != nil {
			t.Errorf("Get on a missing bucket: %q %v", v, err)
		}
		if n, err := b.Len(); n != 0 || err != nil {
			t.Errorf("Len %d %v", n, err)
		}
	})
	if err := b.Put(map[string][]byte{"run1\x00a": []byte("1"), "run1\x00b": []byte("2"), "run2\x00a": []byte("3"), "run10\x00a": []byte("4")}); err != nil {
		t.Fatal(err)
	}
	scan := func(prefix string) []string {
		var got []string
		if err := b.Scan([]byte(prefix), func(k, v []byte) error {
			got = append(got, string(k)+"="+string(v))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	t.Run("GetLenScan", func(t *testing.T) {
		if v, _ := b.Get([]byte("run2\x00a")); string(v) != "3" {
			t.Errorf("Get %q", v)
		}
		if n, _ := b.Len(); n != 4 {
			t.Errorf("Len %d", n)
		}
		if got := scan("run1\x00"); !slices.Equal(got, []string{"run1\x00a=1", "run1\x00b=2"}) {
			t.Errorf("Scan %q", got)
		}
		stop := errors.New("stop")
		if err := b.Scan(nil, func(k, v []byte) error { return stop }); err != stop {
			t.Errorf("Scan error %v", err)
		}
	})
	t.Run("DeletePrefix", func(t *testing.T) {
		if err := b.DeletePrefix([]byte("run1\x00")); err != nil {
			t.Fatal(err)
		}
		if got := scan(""); !slices.Equal(got, []string{"run10\x00a=4", "run2\x00a=3"}) {
			t.Errorf("after DeletePrefix: %q", got)
		}
		if err := f.Bucket("none").DeletePrefix([]byte("x")); err != nil {
			t.Error(err)
		}
	})
	t.Run("Locked", func(t *testing.T) {
		if _, err := Open(f.Path()); !errors.Is(err, ErrLocked) {
			t.Errorf("second Open: %v", err)
		}
		if _, err := Repair(f.Path(), nil); !errors.Is(err, ErrLocked) {
			t.Errorf("Repair of a file in use: %v", err)
		}
	})
}

func TestSeal(t *testing.T) {
	key, payload := []byte("k1"), []byte(`{"accuracy":0.875}`)
	good := Seal("test", key, payload)
	edited := bytes.Replace(bytes.Clone(good), []byte("0.875"), []byte("0.975"), 1)
	for _, tc := range []struct {
		name   string
		domain string
		key    []byte
		value  []byte
		want   error // nil: payload comes back
	}{
		{"Good", "test", key, good, nil},
		{"EditedPayload", "test", key, edited, ErrChecksum},
		{"OtherKey", "test", []byte("k2"), good, ErrChecksum},
		{"CutShort", "test", key, good[:10], ErrChecksum},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Unseal(tc.domain, tc.key, tc.value)
			if tc.want == nil {
				if err != nil || !bytes.Equal(got, payload) {
					t.Fatalf("got %q, %v", got, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("OtherDomain", func(t *testing.T) {
		if Sealed("tes", good) || Sealed("other", good) || !Sealed("test", good) {
			t.Error("Sealed does not tell domains apart")
		}
		if _, err := Unseal("other", key, good); err == nil {
			t.Error("unsealed in another domain")
		}
	})
}

func ExampleSeal() {
	v := Seal("example", []byte("key"), []byte("payload"))
	p, err := Unseal("example", []byte("key"), v)
	fmt.Println(string(p), err)
	_, err = Unseal("example", []byte("other key"), v)
	fmt.Println(errors.Is(err, ErrChecksum))
	// Output:
	// payload <nil>
	// true
}

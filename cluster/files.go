package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/edgenas/edgenas/internal/limitio"
	"github.com/edgenas/edgenas/pipeline"
)

// Object store names (cluster.distribute: object_store).
const (
	// FilesBucket is the JetStream object store bucket of runs' files.
	FilesBucket = "EDGENAS_FILES"
	// ManifestObject is the object naming the files of the latest run
	// published (a Manifest).
	ManifestObject = "manifest"
	// objectPrefix starts the name of an object holding a file: the file's
	// SHA-256 in hex follows.
	objectPrefix = "sha256-"
)

// FileRef is one file of a run in the object store.
type FileRef struct {
	// Name is the file's base name (in the teacher directory, or of the
	// data file, whose extension says its format).
	Name string `json:"name"`
	// Object is the object holding it: "sha256-" and its content's
	// SHA-256 in hex.
	Object string `json:"object"`
}

// Manifest lists the files a worker needs to evaluate as the coordinator
// does: the run config's text, the teacher directory's files, the dev and
// calibration data files (none for demo data, generated from the config)
// and the importance scores.
type Manifest struct {
	RunID       string    `json:"run_id"`
	Config      FileRef   `json:"config"`
	Teacher     []FileRef `json:"teacher"`
	Dev         *FileRef  `json:"dev,omitempty"`
	Calibration *FileRef  `json:"calibration,omitempty"`
	Importance  FileRef   `json:"importance"`
}

// placedRef is a file of a manifest and the directory (under a worker's
// download directory) it goes to.
type placedRef struct {
	dir string
	ref FileRef
}

// refs returns every file of m with the directory it goes to.
func (m *Manifest) refs() []placedRef {
	var out []placedRef
	add := func(dir string, r FileRef) { out = append(out, placedRef{dir, r}) }
	add("", m.Config)
	for _, r := range m.Teacher {
		add("teacher", r)
	}
	if m.Dev != nil {
		add("dev", *m.Dev)
	}
	if m.Calibration != nil {
		add("calibration", *m.Calibration)
	}
	add("run", m.Importance)
	return out
}

// DecodeManifest decodes and checks a manifest: every file name must be
// a plain file name (no directory), every object a SHA-256 object name,
// and the teacher must have files.
func DecodeManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// validate checks a decoded manifest: every name a plain file name,
// every object a SHA-256 object name.
func (m *Manifest) validate() error {
	var errs []error
	if len(m.Teacher) == 0 {
		errs = append(errs, errors.New("teacher: no files"))
	}
	for _, f := range m.refs() {
		r := f.ref
		if r.Name == "" || r.Name != filepath.Base(r.Name) || r.Name == "." || r.Name == ".." || strings.ContainsAny(r.Name, `/\`) {
			errs = append(errs, fmt.Errorf("file name %q, want a plain file name", r.Name))
		}
		if _, err := objectDigest(r.Object); err != nil {
			errs = append(errs, fmt.Errorf("file %s: %w", r.Name, err))
		}
	}
	return errors.Join(errs...)
}

// objectDigest returns the SHA-256 an object's name carries.
func objectDigest(object string) ([]byte, error) {
	h, ok := strings.CutPrefix(object, objectPrefix)
	b, err := hex.DecodeString(h)
	if !ok || err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("object %q, want %s and %d hex digits", object, objectPrefix, 2*sha256.Size)
	}
	return b, nil
}

// filesStore creates (or opens) the files bucket.
func filesStore(ctx context.Context, js jetstream.JetStream) (jetstream.ObjectStore, error) {
	obs, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: FilesBucket, Storage: jetstream.FileStorage,
		Description: "edgenas: the teachers, data and configs of runs, each object named by its SHA-256"})
	if err != nil {
		return nil, fmt.Errorf("object store %s: %w", FilesBucket, err)
	}
	return obs, nil
}

// putFile stores the file at path under the name its content's SHA-256
// gives, unless the bucket holds that content already.
func putFile(ctx context.Context, obs jetstream.ObjectStore, path string) (FileRef, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileRef{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return FileRef{}, fmt.Errorf("%s: %w", path, err)
	}
	sum := h.Sum(nil)
	ref := FileRef{Name: filepath.Base(path), Object: objectPrefix + hex.EncodeToString(sum)}
	// The store's own digest is SHA-256 too: an object whose content is
	// already the file's is not put again.
	if info, err := obs.GetInfo(ctx, ref.Object); err == nil && info.Digest == "SHA-256="+base64.URLEncoding.EncodeToString(sum) {
		return ref, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return FileRef{}, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := obs.Put(ctx, jetstream.ObjectMeta{Name: ref.Object, Description: path}, f); err != nil {
		return FileRef{}, fmt.Errorf("put %s as %s: %w", path, ref.Object, err)
	}
	return ref, nil
}

// PublishFiles puts the files of run a worker needs in the files bucket
// over js (see Manifest), each named by its content's SHA-256, and the
// manifest listing them under ManifestObject.
func PublishFiles(ctx context.Context, js jetstream.JetStream, run *pipeline.Run) (*Manifest, error) {
	obs, err := filesStore(ctx, js)
	if err != nil {
		return nil, err
	}
	m := &Manifest{RunID: run.ID}
	cfgText := run.Config.Text()
	cfgSum := sha256.Sum256(cfgText)
	m.Config = FileRef{Name: "config.yaml", Object: objectPrefix + hex.EncodeToString(cfgSum[:])}
	if _, err := obs.PutBytes(ctx, m.Config.Object, cfgText); err != nil {
		return nil, fmt.Errorf("put the run config as %s: %w", m.Config.Object, err)
	}
	entries, err := os.ReadDir(run.TeacherDir)
	if err != nil {
		return nil, fmt.Errorf("teacher: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		ref, err := putFile(ctx, obs, filepath.Join(run.TeacherDir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("teacher: %w", err)
		}
		m.Teacher = append(m.Teacher, ref)
	}
	for _, d := range []struct {
		path string
		ref  **FileRef
	}{{run.Config.Data.Dev, &m.Dev}, {run.Config.Data.Calibration, &m.Calibration}} {
		if d.path == "" {
			continue
		}
		ref, err := putFile(ctx, obs, d.path)
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		*d.ref = &ref
	}
	if m.Importance, err = putFile(ctx, obs, filepath.Join(run.Config.RunDir, "importance.json")); err != nil {
		return nil, fmt.Errorf("importance: %w", err)
	}
	data, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if _, err := obs.PutBytes(ctx, ManifestObject, data); err != nil {
		return nil, fmt.Errorf("put the manifest: %w", err)
	}
	return m, nil
}

// FetchFiles downloads the files of the run last published in the files
// bucket over js (waiting until one is published or ctx ends) into dir, verifying each against the SHA-256 its object's
// name carries (a mismatch is an error naming the object; the file is
// removed), and parses the run config with its paths pointed at them:
// teacher.dir at the teacher's files (teacher.train dropped), data.dev
// and data.calibration at the data files, run_dir at a directory holding
// the importance scores. The cluster section keeps the run's settings but
// takes its connection (urls, credentials, TLS) from conn and urls.
func FetchFiles(ctx context.Context, js jetstream.JetStream, dir string, conn pipeline.ClusterConfig, urls []string) (*pipeline.Config, *Manifest, error) {
	obs, m, err := awaitManifest(ctx, js)
	if err != nil {
		return nil, nil, err
	}
	paths := map[string]string{}
	for _, f := range m.refs() {
		d := filepath.Join(dir, f.dir)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, nil, err
		}
		path := filepath.Join(d, f.ref.Name)
		if err := getFile(ctx, obs, f.ref, path); err != nil {
			return nil, nil, err
		}
		paths[f.dir] = path
	}
	cfgText, err := limitio.ReadFile(paths[""], limitio.ConfigLimit, "a search config")
	if err != nil {
		return nil, nil, err
	}
	cfg, err := pipeline.ParseConfigEdited(cfgText, paths[""], func(c *pipeline.Config) {
		c.Teacher = pipeline.TeacherConfig{Dir: filepath.Join(dir, "teacher")}
		c.Data.Dev, c.Data.Calibration = paths["dev"], paths["calibration"]
		c.RunDir = filepath.Join(dir, "run")
		c.Cluster.URLs, c.Cluster.Embedded = urls, nil
		c.Cluster.TokenFile, c.Cluster.NKeyFile, c.Cluster.TLS = conn.TokenFile, conn.NKeyFile, conn.TLS
	})
	if err != nil {
		return nil, nil, fmt.Errorf("the run config of %s: %w", m.Config.Object, err)
	}
	return cfg, m, nil
}

// manifestPoll is how often a worker looks for a manifest not yet
// published.
const manifestPoll = 500 * time.Millisecond

// awaitManifest reads the manifest of the files bucket, waiting for the
// bucket and the manifest to exist.
func awaitManifest(ctx context.Context, js jetstream.JetStream) (jetstream.ObjectStore, *Manifest, error) {
	for {
		obs, err := js.ObjectStore(ctx, FilesBucket)
		var data []byte
		if err == nil {
			data, err = obs.GetBytes(ctx, ManifestObject)
		}
		if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrObjectNotFound) {
			sleep(ctx, manifestPoll)
			if ctx.Err() != nil {
				return nil, nil, fmt.Errorf("object store %s: no %s published (is the search running with cluster.distribute: object_store?): %w", FilesBucket, ManifestObject, ctx.Err())
			}
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("object store %s: %s: %w", FilesBucket, ManifestObject, err)
		}
		m, err := DecodeManifest(data)
		if err != nil {
			return nil, nil, fmt.Errorf("object store %s: %s: %w", FilesBucket, ManifestObject, err)
		}
		return obs, m, nil
	}
}

// getFile downloads ref's object to path and checks its content against
// the SHA-256 the object's name carries.
func getFile(ctx context.Context, obs jetstream.ObjectStore, ref FileRef, path string) (err error) {
	want, err := objectDigest(ref.Object)
	if err != nil {
		return err
	}
	r, err := obs.Get(ctx, ref.Object)
	if err != nil {
		return fmt.Errorf("object %s (%s): %w", ref.Object, ref.Name, err)
	}
	defer r.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), r); err != nil {
		return fmt.Errorf("object %s (%s): %w", ref.Object, ref.Name, err)
	}
	if got := h.Sum(nil); string(got) != string(want) {
		return fmt.Errorf("object %s (%s): content SHA-256 %x differs from the digest its name carries: refused", ref.Object, ref.Name, got)
	}
	return nil
}

module github.com/edgenas/edgenas

go 1.26.8

require (
	github.com/yalue/onnxruntime_go v1.27.0
	go.yaml.in/yaml/v3 v3.0.6
	golang.org/x/sys v0.50.0
	golang.org/x/text v0.44.0
)

require (
	go.etcd.io/bbolt v1.5.0
	gonum.org/v1/gonum v0.17.0
)

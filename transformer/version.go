package transformer

// EngineVersion names the revision of the inference engine's numerics and
// kernels. Latency and accuracy measured with one engine version are not
// comparable with another's, so it is part of every device fingerprint and
// evaluation cache key; raise it whenever a kernel or the forward pass
// changes what it computes or how fast.
const EngineVersion = "engine-7"

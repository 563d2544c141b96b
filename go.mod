module ftpbench

go 1.26

require (
	github.com/HdrHistogram/hdrhistogram-go v1.4.0
	github.com/jlaffaye/ftp v0.2.4
	github.com/montanaflynn/stats v0.14.0
	github.com/spf13/pflag v1.1.0
	goftp.io/server/v2 v2.0.3
)

module ftpbench

go 1.26.8

go 1.26

module github.com/cloudcockpit/cloudcockpit-facade/tools/tracecall

go 1.26.8

require golang.org/x/exp v0.0.0-20261121134650-e1094eeca1b5

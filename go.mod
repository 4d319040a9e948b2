module vigie

go 1.26.8

require (
	github.com/antzucaro/matchr v0.0.0-20221106193745-7bed6ef61ef9 // indirect
	golang.org/x/text v0.43.0 // indirect
)

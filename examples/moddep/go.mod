module example.com/moddep

go 1.22

require example.com/greeting v1.2.0

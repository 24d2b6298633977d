º´	Í!¸*LÍ!child running
$
"""Matrix: the detection matrix, which runs the features against the sandbox with each defect switch on
and checks that exactly the rules the switch breaks fail. The top part beside the run command."""

"""Training from the page, apart from the page's requests: `training` checks a job and runs
it in a child process (`child`, which calls `frameprophet.train`) and reads what the child
writes; `clips` gathers a job's clips (uploads, ZIPs, a folder under the server's training
root). `frameprophet.ui.training` lays it out; only the training tab imports it.
"""

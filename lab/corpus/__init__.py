"""Documents in: parsing files into text sections, cheap checks on untrusted bytes, the parse worker process, stored uploads, chunking."""

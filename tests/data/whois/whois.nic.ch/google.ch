Domain name	google.ch

Holder	Google LLC
Domain Administrator
1600 Amphitheatre Parkway
US-94043 Mountain View
United States

Technical contact	Google LLC
Domain Administrator
1600 Amphitheatre Parkway
US-94043 Mountain View
United States

Registrar	MarkMonitor Inc. 

DNSSEC	no

Name servers
ns1.google.com
ns2.google.com
ns3.google.com
ns4.google.com

First registration date	31 May 1999

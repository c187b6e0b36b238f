% .be Whois Server 6.1
%
% By submitting the query you agree to abide by this policy.
%

Domain:	register.be
Status:	NOT AVAILABLE
Registered:	Tue Dec 12 2000

Registrant:
	Not shown, please visit www.dnsbelgium.be for webbased whois.

Registrar Technical Contacts:
	Organisation:	Combell
	Language:	nl
	Phone:	+32.92187978


Registrar:
	Name:	Combell nv
	Website:	https://www.combell.com

Nameservers:
	ns1.register.be (86.39.202.67)
	ns2.register.be (89.44.166.48)

Keys:

Flags:
	serverTransferProhibited

Please visit www.dnsbelgium.be for more info.

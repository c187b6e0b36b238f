; This data is provided by InterNetworX Ltd. & Co. KG
; for information purposes, and to assist persons obtaining information
; about or related to domain name registration records.
; InterNetworX Ltd. & Co. KG does not guarantee its accuracy.
; By submitting this query, you agree to abide by this policy.

ISP:                     InterNetworX Ltd. & Co. KG
URL:                     www.inwx.de

domain:                  dns4pro.com

created-date:            2013-08-12
updated-date:            2013-08-12
expiration-date:         2015-04-06

owner-id:                107329
owner-name:              Florian Moschner
owner-street:            Walter-Flex-Str. 4
owner-city:              München
owner-zip:               80637
owner-country:           DE
owner-phone:             +49.1781415353
owner-email:             florian@moschner.biz

admin-id:                107329
admin-name:              Florian Moschner
admin-street:            Walter-Flex-Str. 4
admin-city:              München
admin-zip:               80637
admin-country:           DE
admin-phone:             +49.1781415353
admin-email:             florian@moschner.biz

tech-id:                 1
tech-organization:       InterNetworX Ltd. & Co. KG
tech-name:               Hostmaster Of The Day
tech-street:             Tempelhofer Damm 140
tech-city:               Berlin
tech-zip:                12099
tech-country:            DE
tech-phone:              +49 30 66400137
tech-fax:                +49 30 66400138
tech-email:              hostmaster@inwx.de

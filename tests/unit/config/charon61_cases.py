# ruff: noqa: E501  (verbatim charon output)
"""Ground truth recorded from charon 6.1.0 (Debian forky, openssl plugin) in the interop lab.

Each value was checked against charon 6.1: proposals/identities/selectors were loaded with
``swanctl --load-conns`` and read back from charon's ``cfg`` level-2 log (``proposals = %#P``,
``id = %Y``, ``local_ts = %#R``). ``None`` means charon rejected the value (``load-conn`` failed
with ``invalid value for: …, config discarded``).
"""

# IKE ``proposals`` values (comma = several list items, as swanctl splits them)
IKE = {' aes128 - sha256 - x25519 ': 'IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519',
 'AES256-SHA256-ECP256': None,
 'aes128--sha256-x25519-': 'IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519',
 'aes128-aes128-sha256-sha256-x25519-x25519-prfsha256-prfsha256': 'IKE:AES_CBC_128/AES_CBC_128/HMAC_SHA2_256_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/PRF_HMAC_SHA2_256/CURVE_25519/CURVE_25519',
 'aes128-md5-sha1-aesxcbc-sha256_96-modp2048': 'IKE:AES_CBC_128/HMAC_MD5_96/HMAC_SHA1_96/AES_XCBC_96/HMAC_SHA2_256_96/PRF_HMAC_MD5/PRF_HMAC_SHA1/PRF_AES128_XCBC/MODP_2048',
 'aes128-prfsha256-x25519': None,
 'aes128-sha256': None,
 'aes128-sha256-x25519, aes256-sha384-ecp384': 'IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519, '
                                               'IKE:AES_CBC_256/HMAC_SHA2_384_192/PRF_HMAC_SHA2_384/ECP_384',
 'aes128-sha256-x25519-KE1_mlkem768-ke3_none-esn': 'IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519/EXT_SEQ/KE1_ML_KEM_768/KE3_KE_NONE',
 'aes128-sha256-x25519-ke 1_mlkem768': 'IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519/KE1_ML_KEM_768',
 'aes128-sha256-x25519-ke1_ke2_x25519': None,
 'aes128-sha256-x25519-ke1_mlkem768-ke1_mlkem768-x25519': 'IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519/CURVE_25519/KE1_ML_KEM_768/KE1_ML_KEM_768',
 'aes128-sha256-x25519-ke2_mlkem768 foo': 'IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519/KE2_ML_KEM_768',
 'aes128-sha256-x25519-ke7_none-ke1_x448-ke1_ecp256-ke2_none-esn-noesn': 'IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519/EXT_SEQ/NO_EXT_SEQ/KE1_CURVE_448/KE1_ECP_256/KE2_KE_NONE/KE7_KE_NONE',
 'aes128-sha256-x25519-ke8_mlkem768': None,
 'aes128-sha256-x25519-none': 'IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519',
 'aes128-sha256_96-ecp256': None,
 'aes128gcm16-aes128-prfsha256-x25519': None,
 'aes128gcm16-sha256-ecp256': 'IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/ECP_256',
 'aes128gmac-sha256-x25519': 'IKE:NULL_AES_GMAC_128/PRF_HMAC_SHA2_256/CURVE_25519',
 'aes256-sha256-modp2048!': None,
 'aes256-sha256-modp3072': 'IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_3072',
 'aes256gcm16-prfsha384-x25519-ke1_mlkem768': 'IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/CURVE_25519/KE1_ML_KEM_768',
 'aes256gcm16-x25519-ke1_mlkem768-ke1_none': None,
 'chacha20poly1305compat-prfsha256-x25519': 'IKE:CHACHA20_POLY1305_256/PRF_HMAC_SHA2_256/CURVE_25519',
 'default': 'IKE:AES_CBC_128/AES_CBC_192/AES_CBC_256/AES_CTR_128/AES_CTR_192/AES_CTR_256/CAMELLIA_CBC_128/CAMELLIA_CBC_192/CAMELLIA_CBC_256/CAMELLIA_CTR_128/CAMELLIA_CTR_192/CAMELLIA_CTR_256/3DES_CBC/HMAC_SHA2_256_128/HMAC_SHA2_384_192/HMAC_SHA2_512_256/HMAC_SHA1_96/PRF_HMAC_SHA2_256/PRF_HMAC_SHA2_384/PRF_HMAC_SHA2_512/PRF_HMAC_SHA1/ECP_256/ECP_384/ECP_521/ECP_256_BP/ECP_384_BP/ECP_512_BP/CURVE_25519/CURVE_448/MODP_3072/MODP_4096/MODP_6144/MODP_8192/MODP_2048, '
            'IKE:AES_GCM_16_128/AES_GCM_16_192/AES_GCM_16_256/AES_CCM_16_128/AES_CCM_16_192/AES_CCM_16_256/CHACHA20_POLY1305/AES_GCM_12_128/AES_GCM_12_192/AES_GCM_12_256/AES_GCM_8_128/AES_GCM_8_192/AES_GCM_8_256/AES_CCM_12_128/AES_CCM_12_192/AES_CCM_12_256/AES_CCM_8_128/AES_CCM_8_192/AES_CCM_8_256/PRF_HMAC_SHA2_256/PRF_HMAC_SHA2_384/PRF_HMAC_SHA2_512/PRF_HMAC_SHA1/ECP_256/ECP_384/ECP_521/ECP_256_BP/ECP_384_BP/ECP_512_BP/CURVE_25519/CURVE_448/MODP_3072/MODP_4096/MODP_6144/MODP_8192/MODP_2048',
 'prfsha256-x25519': None,
 'serpent-camelliaxcbc-modpnull-x448': 'IKE:SERPENT_CBC_128/CAMELLIA_XCBC_96/PRF_CAMELLIA128_XCBC/MODP_NULL/CURVE_448'}

ESP = {'aes128': 'ESP:AES_CBC_128/NO_EXT_SEQ',
 'aes128-prfsha256-sha256': 'ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ',
 'aes128-sha256-ecp256-none-esn-noesn': 'ESP:AES_CBC_128/HMAC_SHA2_256_128/ECP_256/KE_NONE/EXT_SEQ/NO_EXT_SEQ',
 'aes128-sha256-modpnone-ke2_none': 'ESP:AES_CBC_128/HMAC_SHA2_256_128/KE_NONE/NO_EXT_SEQ/KE2_KE_NONE',
 'aes128gcm16-aes128-sha256': None,
 'aes128gcm16-ke1_none-ke1_mlkem768-noesn-esn': 'ESP:AES_GCM_16_128/NO_EXT_SEQ/EXT_SEQ/KE1_KE_NONE/KE1_ML_KEM_768',
 'aes128gcm16-sha256': 'ESP:AES_GCM_16_128/NO_EXT_SEQ',
 'aes128gcm16-x25519-ke1_mlkem768-esn': 'ESP:AES_GCM_16_128/CURVE_25519/EXT_SEQ/KE1_ML_KEM_768',
 'aes128gmac': 'ESP:NULL_AES_GMAC_128/NO_EXT_SEQ',
 'aes128gmac-sha256': 'ESP:NULL_AES_GMAC_128/NO_EXT_SEQ',
 'default': 'ESP:AES_GCM_16_128/AES_GCM_16_192/AES_GCM_16_256/ECP_256/ECP_384/ECP_521/ECP_256_BP/ECP_384_BP/ECP_512_BP/CURVE_25519/CURVE_448/MODP_3072/MODP_4096/MODP_6144/MODP_8192/MODP_2048/KE_NONE/NO_EXT_SEQ, '
            'ESP:AES_CBC_128/AES_CBC_192/AES_CBC_256/HMAC_SHA2_256_128/HMAC_SHA2_384_192/HMAC_SHA2_512_256/HMAC_SHA1_96/AES_XCBC_96/ECP_256/ECP_384/ECP_521/ECP_256_BP/ECP_384_BP/ECP_512_BP/CURVE_25519/CURVE_448/MODP_3072/MODP_4096/MODP_6144/MODP_8192/MODP_2048/KE_NONE/NO_EXT_SEQ',
 'null-sha256': 'ESP:NULL/HMAC_SHA2_256_128/NO_EXT_SEQ',
 'sha256': None}

AH = {'aes128': None,
 'aes128-sha256-modp2048': 'AH:HMAC_SHA2_256_128/MODP_2048/NO_EXT_SEQ',
 'aes128gmac-sha256': 'AH:AES_128_GMAC/HMAC_SHA2_256_128/NO_EXT_SEQ',
 'default': 'AH:HMAC_SHA2_256_128/HMAC_SHA2_384_192/HMAC_SHA2_512_256/HMAC_SHA1_96/AES_XCBC_96/ECP_256/ECP_384/ECP_521/ECP_256_BP/ECP_384_BP/ECP_512_BP/CURVE_25519/CURVE_448/MODP_3072/MODP_4096/MODP_6144/MODP_8192/MODP_2048/KE_NONE/NO_EXT_SEQ',
 'sha256-esn': 'AH:HMAC_SHA2_256_128/EXT_SEQ'}

# vici ``id`` value -> %Y
IDS = {'%any': '%any',
 '*': '%any',
 '/C=CH/O=strongSwan/CN=moon': 'C=CH, O=strongSwan, CN=moon',
 '0.0.0.0': '%any',
 '10.0.0.0/40': '10.0.0.0/40',
 '10.0.0.0/8': '10.0.0.0/8',
 '10.0.0.1': '10.0.0.1',
 '10.0.0.1-10.0.0.5': '10.0.0.1-10.0.0.5',
 '10.0.0.5-10.0.0.1': '10.0.0.5-10.0.0.1',
 '2001:db8::/32': '2001:db8::/32',
 '::': '%any',
 '::ffff:1.2.3.4': '::ffff:1.2.3.4',
 '@': '',
 '@#': '',
 '@#00112233445566778899aabbccddeeff00112233': '00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33',
 '@#0102abcd': '01:02:ab:cd',
 '@#zz': '00',
 '@@': '',
 '@@user': 'user',
 '@moon': 'moon',
 'C=CH, O=strongSwan, CN=': 'C=CH, O=strongSwan, CN=',
 'C=CH, O=strongSwan, CN=moon': 'C=CH, O=strongSwan, CN=moon',
 'C=CH,O=strongSwan,CN=moon': 'C=CH, O=strongSwan, CN=moon',
 'CN=*, O=x': 'CN=*, O=x',
 'CN=a+b, O=x': 'CN=a+b, O=x',
 'CN=a,CN=b': 'CN=a, CN=b',
 'CN=moon ,O=x ': 'CN=moon, O=x',
 'CN=x=y': 'CN=x=y',
 'E=a@b, CN=x': 'E=a@b, CN=x',
 'UNKNOWN=foo': 'UNKNOWN=foo',
 'a@b@c': 'a@b@c',
 'asn1dn:#300f310d300b060355040313046d6f6f6e': 'CN=moon',
 'asn1gn:#3003': '(ASN.1 general name)',
 'cn=lower, e=x@y': 'CN=lower, E=x@y',
 'dc=org,dc=example': 'DC=org, DC=example',
 'email:*@example.org': '*@example.org',
 'fe80::1': 'fe80::1',
 'fe80::1-fe80::5': 'fe80::1-fe80::5',
 'foo:bar': 'foo:bar',
 'fqdn:#414243': 'ABC',
 'ipv4:#0a000001': '10.0.0.1',
 'ipv4:10.0.0.1': '49.48.46.48',
 'ipv4net:10.1.0.0/16': '49.48.46.49/0',
 'ipv6:#20010db8000000000000000000000001': '2001:db8::1',
 'keyid:#0102': '01:02',
 'keyid:abc': 'abc',
 'keyid:abcdefghijklmnopqrst': '61:62:63:64:65:66:67:68:69:6a:6b:6c:6d:6e:6f:70:71:72:73:74',
 'moon.strongswan.org': 'moon.strongswan.org',
 'rfc822:^.*@x$': '^.*@x$',
 'serialNumber=123, UID=u, DC=d, ST=s, STREET=x, L=l, OU=ou, T=t, SN=s, G=g, I=i, N=n, D=d, ID=i, EN=e, UN=un, UA=ua, TCGID=t, ND=n, dnQualifier=q, dmdName=d, pseudonym=p, postalAddress=p, postalCode=c, organizationIdentifier=o, employeeNumber=1, emailAddress=a@b, Email=c@d': 'serialNumber=123, '
                                                                                                                                                                                                                                                                                     'UID=u, '
                                                                                                                                                                                                                                                                                     'DC=d, '
                                                                                                                                                                                                                                                                                     'ST=s, '
                                                                                                                                                                                                                                                                                     'STREET=x, '
                                                                                                                                                                                                                                                                                     'L=l, '
                                                                                                                                                                                                                                                                                     'OU=ou, '
                                                                                                                                                                                                                                                                                     'T=t, '
                                                                                                                                                                                                                                                                                     'SN=s, '
                                                                                                                                                                                                                                                                                     'G=g, '
                                                                                                                                                                                                                                                                                     'I=i, '
                                                                                                                                                                                                                                                                                     'N=n, '
                                                                                                                                                                                                                                                                                     'D=d, '
                                                                                                                                                                                                                                                                                     'ID=i, '
                                                                                                                                                                                                                                                                                     'EN=e, '
                                                                                                                                                                                                                                                                                     'UN=un, '
                                                                                                                                                                                                                                                                                     'UA=ua, '
                                                                                                                                                                                                                                                                                     'TCGID=t, '
                                                                                                                                                                                                                                                                                     'ND=n, '
                                                                                                                                                                                                                                                                                     'dnQualifier=q, '
                                                                                                                                                                                                                                                                                     'dmdName=d, '
                                                                                                                                                                                                                                                                                     'pseudonym=p, '
                                                                                                                                                                                                                                                                                     'postalAddress=p, '
                                                                                                                                                                                                                                                                                     'postalCode=c, '
                                                                                                                                                                                                                                                                                     'organizationIdentifier=o, '
                                                                                                                                                                                                                                                                                     'employeeNumber=1, '
                                                                                                                                                                                                                                                                                     'emailAddress=a@b, '
                                                                                                                                                                                                                                                                                     'Email=c@d',
 'uri:http://x/': 'http://x/',
 'user@example.org': 'user@example.org',
 'xmppaddr:me@x': '(ASN.1 general name)',
 '{11}:foo': 'foo',
 '{2}:#4142': 'AB',
 '{300}:x': '(unknown ID type: 300)'}

# vici ``local_ts`` value -> %R (None: rejected)
TS = {'%any': '0.0.0.0/32',
 '%any/0': '0.0.0.0/0',
 '%any6': '::/128',
 '0.0.0.0/0': '0.0.0.0/0',
 '0.0.0.0/0[udp/500]': '0.0.0.0/0[udp/isakmp]',
 '10.0.0.0-10.0.0.255': '10.0.0.0/24',
 '10.0.0.0/33': None,
 '10.0.0.0/8': '10.0.0.0/8',
 '10.0.0.0/8[tcp/http]': '10.0.0.0/8[tcp/http]',
 '10.0.0.0/abc': None,
 '10.0.0.1 - 10.0.0.3': '10.0.0.1..10.0.0.3',
 '10.0.0.1-10.0.0.5': '10.0.0.1..10.0.0.5',
 '10.0.0.5-10.0.0.1': '10.0.0.5..10.0.0.1',
 '10.0.0.5/24': '10.0.0.0/24',
 '10.1.0.0/16[icmp/0x0303]': '10.1.0.0/16[icmp/3(3)]',
 '10.1.0.0/16[icmp/8]': '10.1.0.0/16[icmp/8]',
 '10.10.0.0/16[tcp/0x50]': '10.10.0.0/16[tcp/http]',
 '10.11.0.0/16[/80]': '10.11.0.0/16[0/http]',
 '10.12.0.0/16[TCP/22]': '10.12.0.0/16[tcp/ssh]',
 '10.13.0.0/16[200]': '10.13.0.0/16[200]',
 '10.14.0.0/16[udp/90-80]': '10.14.0.0/16[udp/90-80]',
 '10.15.0.0/16[icmp/256]': '10.15.0.0/16[icmp/1]',
 '10.16.0.0/16[icmp/3-65535]': '10.16.0.0/16[icmp/3-255(255)]',
 '10.17.0.0/16[tcp/any]': '10.17.0.0/16[tcp]',
 '10.18.0.0/16[tcp/]': '10.18.0.0/16[tcp]',
 '10.19.0.0/16[tcp/0]': '10.19.0.0/16[tcp/0]',
 '10.2.0.0/16[tcp/1000-2000]': '10.2.0.0/16[tcp/1000-2000]',
 '10.2.0.0/16[tcp/opaque]': '10.2.0.0/16[tcp/OPAQUE]',
 '10.20.0.0/16[udp/domain]': '10.20.0.0/16[udp/domain]',
 '10.21.0.0/16[tcp/1-1]': '10.21.0.0/16[tcp/tcpmux]',
 '10.22.0.0/16[010]': '10.22.0.0/16[egp]',
 '10.23.0.0/16[tcp/22]x': '10.23.0.0/16[tcp/ssh]',
 '10.24.0.0/-1': None,
 '10.25.0.0/264': None,
 '10.26.0.0/16[icmp/8-8]': '10.26.0.0/16[icmp/8]',
 '10.27.0.0/16[ipv6-icmp]': '10.27.0.0/16[ipv6-icmp]',
 '10.28.0.0/16[icmp/0]': '10.28.0.0/16[icmp/0]',
 '10.29.0.0/16[icmp/0-255]': '10.29.0.0/16[icmp/0-255]',
 '10.3.0.0/16[any/80]': '10.3.0.0/16[0/http]',
 '10.4.0.0/16[6]': '10.4.0.0/16[tcp]',
 '10.5.0.0/16[ipv6-icmp/128]': '10.5.0.0/16[ipv6-icmp/128]',
 '10.6.0.0/16[tcp/65535-0]': '10.6.0.0/16[tcp/OPAQUE]',
 '10.7.0.0/16[132/5000]': '10.7.0.0/16[sctp/5000]',
 '10.8.0.0/16[icmp/3-4]': '10.8.0.0/16[icmp/3-4]',
 '10.9.0.0/16[udp/bootps]': '10.9.0.0/16[udp/bootps]',
 '::/0': '::/0',
 '::ffff:1.2.3.4': None,
 'dynamic': 'dynamic',
 'dynamic[tcp]': 'dynamic[tcp]',
 'dynamic[udp/isakmp]': 'dynamic[udp/isakmp]',
 'fec0::/64[ipv6-icmp/135]': 'fec0::/64[ipv6-icmp/135]'}

TS_REJECTED = ['10.0.0.0/8[tcp/foo]',
 '10.0.0.0/8[tcp',
 '300.0.0.0/8',
 '10.0.0.1-::1',
 '10.0.0.0/8[tcp/80x]',
 '10.0.0.0/8[foo]',
 '10.0.0.0/8[256]',
 'host.example',
 '10.0.0.0/8[tcp/70000]',
 '10.0.0.0/8[-1]',
 '10.0.0.0/8[tcp/-5]']

//! TLS for the emulator: a throwaway CA and a serving certificate minted with rcgen, and the
//! rustls server configuration (ring provider, HTTP/1.1 only).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

use super::lock;

/// A CA and the serving certificate it signed.
pub(crate) struct Pki {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// The CA, to sign a new serving certificate with.
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate, DER.
    ca_der: CertificateDer<'static>,
    /// The serving certificate chain (leaf, then CA), DER.
    chain: Vec<CertificateDer<'static>>,
    /// The serving key, PKCS#8 DER.
    key: Vec<u8>,
}

impl Pki {
    /// Mints a CA (`kube-lease-emulator-ca`) and a serving certificate for 127.0.0.1, ::1 and
    /// localhost.
    pub fn mint() -> anyhow::Result<Pki> {
        let (issuer, ca_der, ca_pem) = mint_ca()?;
        let (chain, key) = serving_certificate(&issuer, &ca_der)?;
        Ok(Pki {
            ca_pem,
            issuer,
            ca_der,
            chain,
            key,
        })
    }

    /// A new serving certificate (and key) from the same CA.
    pub fn renew(&mut self) -> anyhow::Result<()> {
        (self.chain, self.key) = serving_certificate(&self.issuer, &self.ca_der)?;
        Ok(())
    }

    /// A TLS acceptor serving the certificate, offering only `http/1.1` by ALPN.
    pub fn acceptor(&self) -> anyhow::Result<TlsAcceptor> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// A fresh CA: its issuer, certificate DER and PEM.
fn mint_ca() -> anyhow::Result<(Issuer<'static, KeyPair>, CertificateDer<'static>, String)> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "kube-lease-emulator-ca");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let (der, pem) = (ca_cert.der().clone(), ca_cert.pem());
    Ok((Issuer::new(ca_params, ca_key), der, pem))
}

/// A serving certificate for 127.0.0.1, ::1, localhost and kubernetes.default.svc signed by
/// `issuer`: the chain (leaf, then the CA) and the key.
fn serving_certificate(
    issuer: &Issuer<'static, KeyPair>,
    ca_der: &CertificateDer<'static>,
) -> anyhow::Result<(Vec<CertificateDer<'static>>, Vec<u8>)> {
    let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    params.subject_alt_names.extend([
        SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        SanType::DnsName("kubernetes.default.svc".try_into()?),
    ]);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, issuer)?;
    Ok((
        vec![cert.der().clone(), ca_der.clone()],
        key.serialize_der(),
    ))
}

/// What new TLS connections are served with; replaceable while the server runs (open
/// connections keep the certificate they were served with).
pub(crate) struct Serving {
    pki: Mutex<Pki>,
    acceptor: Mutex<TlsAcceptor>,
}

impl Serving {
    /// A fresh CA and serving certificate.
    pub fn mint() -> anyhow::Result<Serving> {
        let pki = Pki::mint()?;
        let acceptor = pki.acceptor()?;
        Ok(Serving {
            pki: Mutex::new(pki),
            acceptor: Mutex::new(acceptor),
        })
    }

    /// The acceptor for the next connection.
    pub fn acceptor(&self) -> TlsAcceptor {
        lock(&self.acceptor).clone()
    }

    /// The CA certificate (PEM) clients should trust.
    pub fn ca_pem(&self) -> String {
        lock(&self.pki).ca_pem.clone()
    }

    /// Serves a new certificate from now on: from the same CA, or with `new_ca` from a new
    /// CA too.
    pub fn rotate(&self, new_ca: bool) -> anyhow::Result<()> {
        let mut pki = lock(&self.pki);
        if new_ca {
            *pki = Pki::mint()?;
        } else {
            pki.renew()?;
        }
        *lock(&self.acceptor) = pki.acceptor()?;
        Ok(())
    }
}

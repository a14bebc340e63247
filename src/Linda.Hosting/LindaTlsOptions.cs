using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Linda.Hosting;

/// <summary>
/// TLS between the nodes of a Linda cluster (<see cref="LindaTlsHostingExtensions.WithLindaTls"/>, or
/// <see cref="LindaOptions.Tls"/>): Akka.Remote's DotNetty transport over TLS with mutual
/// authentication. Every connection between two nodes presents a certificate on both ends, and each end
/// accepts the other's only if it was issued by <see cref="TrustedAuthority"/> (or, without one, is this
/// node's own certificate). The operating system's trust store is never consulted, so a certificate from a
/// public authority does not let anyone in. Give the certificate either as <see cref="Certificate"/> or as
/// <see cref="CertificatePath"/> (with <see cref="CertificatePassword"/>), and the authority either as
/// <see cref="TrustedAuthority"/> or as <see cref="TrustedAuthorityPath"/>.
/// </summary>
public sealed class LindaTlsOptions
{
    /// <summary>This node's certificate, with its private key.</summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>A PKCS#12 file (<c>.pfx</c>, <c>.p12</c>) holding this node's certificate and its private key.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The password of <see cref="CertificatePath"/>. <b>Default:</b> none.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>
    /// The certificate of the authority (the CA) that issues the cluster's node certificates, without its
    /// private key: a peer is accepted only if its certificate chains to it. <b>Default:</b> none; then a peer
    /// must present the very certificate this node has (one certificate shared by every node, pinned).
    /// </summary>
    public X509Certificate2? TrustedAuthority { get; set; }

    /// <summary>A PEM or DER file holding <see cref="TrustedAuthority"/>.</summary>
    public string? TrustedAuthorityPath { get; set; }

    /// <summary>
    /// Checks the options and loads the certificates: this node's must have its private key and must pass
    /// the check it applies to its peers (else the other nodes would refuse it).
    /// </summary>
    /// <param name="time">The clock that decides whether a certificate is in its validity period. <b>Default:</b> the system's.</param>
    /// <exception cref="ArgumentException">An option is missing, a file can't be read, or the certificate would be refused; the message says which.</exception>
    public ClusterTrust Load(TimeProvider? time = null)
    {
        if ((Certificate is null) == (CertificatePath is null))
            throw new ArgumentException("TLS: give this node's certificate either as Certificate or as CertificatePath (a PKCS#12 file), one of them", nameof(Certificate));
        if (Certificate is not null && CertificatePassword is not null)
            throw new ArgumentException("TLS: CertificatePassword goes with CertificatePath", nameof(CertificatePassword));
        if (TrustedAuthority is not null && TrustedAuthorityPath is not null)
            throw new ArgumentException("TLS: give the trusted authority either as TrustedAuthority or as TrustedAuthorityPath, not both", nameof(TrustedAuthority));

        var certificate = Certificate ?? LoadPkcs12(CertificatePath!, CertificatePassword);
        if (!certificate.HasPrivateKey)
            throw new ArgumentException($"TLS: this node's certificate {ClusterTrust.Describe(certificate)} has no private key (a PKCS#12 file with the key is needed)", nameof(Certificate));
        var authority = TrustedAuthority ?? (TrustedAuthorityPath is { } path ? LoadAuthority(path) : null);
        if (authority?.HasPrivateKey == true)
            throw new ArgumentException($"TLS: the trusted authority {ClusterTrust.Describe(authority)} comes with its private key; give the nodes its certificate alone (PEM or DER) and keep the key off them", nameof(TrustedAuthority));

        var trust = new ClusterTrust(certificate, authority, time ?? TimeProvider.System);
        if (trust.Refusal(certificate, null) is { } why)
            throw new ArgumentException($"TLS: this node's certificate would be refused by the other nodes: {why}", nameof(Certificate));
        return trust;
    }

    private static X509Certificate2 LoadPkcs12(string path, string? password)
    {
        if (!File.Exists(path))
            throw new ArgumentException($"TLS: no certificate file '{path}'", nameof(CertificatePath));
        try
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, password);
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException($"TLS: can't read '{path}' as a PKCS#12 file with that password: {e.Message}", nameof(CertificatePath), e);
        }
    }

    private static X509Certificate2 LoadAuthority(string path)
    {
        if (!File.Exists(path))
            throw new ArgumentException($"TLS: no trusted authority file '{path}'", nameof(TrustedAuthorityPath));
        try
        {
            return X509CertificateLoader.LoadCertificateFromFile(path); // DER or PEM
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException($"TLS: can't read '{path}' as a certificate (PEM or DER): {e.Message}", nameof(TrustedAuthorityPath), e);
        }
    }
}

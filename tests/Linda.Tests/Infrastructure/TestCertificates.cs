using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Linda.Hosting;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// Certificates made at test time with .NET's <see cref="CertificateRequest"/> (no external tool, no
/// private key ever committed): an authority (a CA) and node certificates it issues, as a cluster's
/// operator would make them with openssl. ECDSA P-256 keys; node certificates name 127.0.0.1 and
/// localhost and may serve and be clients. <see cref="WriteNode"/> and <see cref="WriteAuthority"/> put
/// them in files (a PKCS#12 file with its password, a PEM certificate) for node processes.
/// </summary>
public static class TestCertificates
{
    /// <summary>The password of every PKCS#12 file written here.</summary>
    public const string Password = "linda-test-password";

    // Far beyond any spec; certificates made at the start of a run are valid through it.
    private static readonly TimeSpan Lifetime = TimeSpan.FromDays(2);
    private static readonly TimeSpan Backdate = TimeSpan.FromMinutes(5);

    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    /// <summary>A self-signed authority that may issue certificates, with its private key.</summary>
    public static X509Certificate2 Authority(string name, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        using var made = request.CreateSelfSigned(notBefore ?? DateTimeOffset.UtcNow - Backdate, notAfter ?? DateTimeOffset.UtcNow + Lifetime);
        return Reload(made);
    }

    /// <summary>A node certificate issued by <paramref name="authority"/>, with its private key.</summary>
    public static X509Certificate2 Node(X509Certificate2 authority, string name, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = NodeRequest(name, key);
        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        var until = notAfter ?? DateTimeOffset.UtcNow + Lifetime;
        var authorityEnd = new DateTimeOffset(authority.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        using var issued = request.Create(authority, notBefore ?? DateTimeOffset.UtcNow - Backdate, until < authorityEnd ? until : authorityEnd, serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        return Reload(withKey);
    }

    /// <summary>A node certificate signed by itself (no authority at all), with its private key.</summary>
    public static X509Certificate2 SelfSigned(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var made = NodeRequest(name, key).CreateSelfSigned(DateTimeOffset.UtcNow - Backdate, DateTimeOffset.UtcNow + Lifetime);
        return Reload(made);
    }

    /// <summary>The authority's certificate alone, without its key: what nodes are given to trust.</summary>
    public static X509Certificate2 Public(X509Certificate2 certificate) => X509CertificateLoader.LoadCertificate(certificate.RawData);

    /// <summary>A node's options: its certificate and the authority it trusts (the authority's public certificate).</summary>
    public static LindaTlsOptions Options(X509Certificate2 node, X509Certificate2 trusted) =>
        new() { Certificate = node, TrustedAuthority = Public(trusted) };

    /// <summary>Writes <paramref name="node"/> with its key as a PKCS#12 file protected by <see cref="Password"/>; returns its path.</summary>
    public static string WriteNode(TempFolder folder, string name, X509Certificate2 node)
    {
        var path = folder.File(name + ".pfx");
        File.WriteAllBytes(path, node.Export(X509ContentType.Pkcs12, Password));
        return path;
    }

    /// <summary>Writes the authority's certificate alone (no key) as PEM; returns its path.</summary>
    public static string WriteAuthority(TempFolder folder, string name, X509Certificate2 authority)
    {
        var path = folder.File(name + ".crt");
        File.WriteAllText(path, authority.ExportCertificatePem());
        return path;
    }

    private static CertificateRequest NodeRequest(string name, ECDsa key)
    {
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuth, ClientAuth], critical: false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        return request;
    }

    // A certificate as it would come from a file: a key the platform can use in a TLS handshake.
    private static X509Certificate2 Reload(X509Certificate2 certificate) =>
        X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
}

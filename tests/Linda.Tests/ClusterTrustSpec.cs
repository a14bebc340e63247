using System.Security.Cryptography.X509Certificates;
using Linda.Hosting;
using Linda.Tests.Infrastructure;
using Xunit;

namespace Linda.Tests;

/// <summary>
/// The rule each node applies to its peers' certificates (<see cref="ClusterTrust"/>) and the loading of
/// <see cref="LindaTlsOptions"/>: pure, no network. Certificates are made here (<see cref="TestCertificates"/>).
/// </summary>
public sealed class ClusterTrustSpec : IDisposable
{
    private static readonly X509Certificate2 Authority = TestCertificates.Authority("Linda test authority");
    private static readonly X509Certificate2 Other = TestCertificates.Authority("Intruder authority");
    private static readonly X509Certificate2 NodeA = TestCertificates.Node(Authority, "linda-a");
    private static readonly X509Certificate2 NodeB = TestCertificates.Node(Authority, "linda-b");

    private readonly TempFolder _folder = new("linda-tls");

    public void Dispose() => _folder.Dispose();

    private static ClusterTrust TrustOf(X509Certificate2 node, TimeProvider? time = null) => TestCertificates.Options(node, Authority).Load(time);

    [Fact]
    public void A_certificate_the_authority_issued_is_accepted()
    {
        Assert.Null(TrustOf(NodeA).Refusal(NodeB, null));
        Assert.Null(TrustOf(NodeA).Refusal(NodeA, null));
    }

    [Fact]
    public void A_certificate_from_another_authority_is_refused_naming_it_and_the_trusted_one()
    {
        var why = TrustOf(NodeA).Refusal(TestCertificates.Node(Other, "intruder"), null);
        Assert.NotNull(why);
        Assert.Contains("'CN=intruder' (issued by 'CN=Intruder authority'", why);
        Assert.Contains("is not issued by 'CN=Linda test authority' (self-signed", why);
    }

    [Fact]
    public void A_self_signed_certificate_is_refused()
    {
        var why = TrustOf(NodeA).Refusal(TestCertificates.SelfSigned("intruder"), null);
        Assert.NotNull(why);
        Assert.Contains("'CN=intruder' (self-signed", why);
    }

    [Fact]
    public void A_missing_certificate_is_refused()
    {
        Assert.Equal("it presented no certificate", TrustOf(NodeA).Refusal(null, null));
    }

    [Fact]
    public void A_certificate_out_of_its_validity_period_is_refused()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var trust = TrustOf(NodeA, clock);
        clock.Advance(TimeSpan.FromDays(30));
        var why = trust.Refusal(NodeB, null);
        Assert.NotNull(why);
        Assert.Contains("NotTimeValid", why);
    }

    [Fact]
    public void The_authoritys_certificate_the_peer_sends_along_is_not_trusted_for_it()
    {
        // A peer's chain may carry intermediates; a self-made root among them stays untrusted.
        var intruder = TestCertificates.Node(Other, "intruder");
        using var sent = new X509Chain();
        sent.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        sent.ChainPolicy.CustomTrustStore.Add(TestCertificates.Public(Other));
        sent.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        Assert.True(sent.Build(intruder));
        Assert.NotNull(TrustOf(NodeA).Refusal(intruder, sent));
    }

    [Fact]
    public void Without_an_authority_only_the_nodes_own_certificate_is_accepted()
    {
        var shared = TestCertificates.SelfSigned("linda-cluster");
        var trust = new LindaTlsOptions { Certificate = shared }.Load();
        Assert.Null(trust.Refusal(X509CertificateLoader.LoadCertificate(shared.RawData), null));
        var why = trust.Refusal(TestCertificates.SelfSigned("linda-cluster"), null); // same name, other key
        Assert.NotNull(why);
        Assert.Contains($"is not the cluster's certificate (thumbprint {shared.Thumbprint})", why);
        Assert.Contains("own certificate", trust.Rule);
    }

    [Fact]
    public void Load_reads_a_pkcs12_file_and_a_pem_or_der_authority()
    {
        var pfx = TestCertificates.WriteNode(_folder, "a", NodeA);
        var pem = TestCertificates.WriteAuthority(_folder, "ca", Authority);
        var der = _folder.File("ca.der");
        File.WriteAllBytes(der, Authority.RawData);

        foreach (var authority in new[] { pem, der })
        {
            var trust = new LindaTlsOptions { CertificatePath = pfx, CertificatePassword = TestCertificates.Password, TrustedAuthorityPath = authority }.Load();
            Assert.Equal(NodeA.Thumbprint, trust.Certificate.Thumbprint);
            Assert.True(trust.Certificate.HasPrivateKey);
            Assert.Equal(Authority.Thumbprint, trust.Authority!.Thumbprint);
            Assert.Null(trust.Refusal(NodeB, null));
        }
    }

    public static TheoryData<string, string> BadOptions => new()
    {
        { "none", "either as Certificate or as CertificatePath" },
        { "both", "either as Certificate or as CertificatePath" },
        { "no key", "has no private key" },
        { "not from the authority", "would be refused by the other nodes: its certificate 'CN=intruder' (self-signed" },
        { "authority with its key", "comes with its private key" },
        { "no such file", "no certificate file" },
        { "wrong password", "can't read" },
        { "no such authority file", "no trusted authority file" },
        { "authority not a certificate", "can't read" },
    };

    [Theory, MemberData(nameof(BadOptions))]
    public void Load_refuses_options_saying_what_is_wrong(string @case, string message)
    {
        var pfx = TestCertificates.WriteNode(_folder, "a", NodeA);
        var notACertificate = _folder.File("ca.txt");
        File.WriteAllText(notACertificate, "not a certificate");
        LindaTlsOptions options = @case switch
        {
            "none" => new() { TrustedAuthority = TestCertificates.Public(Authority) },
            "both" => new() { Certificate = NodeA, CertificatePath = pfx },
            "no key" => new() { Certificate = TestCertificates.Public(NodeA), TrustedAuthority = TestCertificates.Public(Authority) },
            "not from the authority" => TestCertificates.Options(TestCertificates.SelfSigned("intruder"), Authority),
            "authority with its key" => new() { Certificate = NodeA, TrustedAuthority = Authority },
            "no such file" => new() { CertificatePath = _folder.File("missing.pfx") },
            "wrong password" => new() { CertificatePath = pfx, CertificatePassword = "wrong" },
            "no such authority file" => new() { Certificate = NodeA, TrustedAuthorityPath = _folder.File("missing.crt") },
            "authority not a certificate" => new() { Certificate = NodeA, TrustedAuthorityPath = notACertificate },
            _ => throw new ArgumentOutOfRangeException(nameof(@case)),
        };
        var e = Assert.Throws<ArgumentException>(() => options.Load());
        Assert.Contains(message, e.Message);
    }
}

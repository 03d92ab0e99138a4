using System.Diagnostics;
using System.Net;
using Glance.Cluster.Tests.Support;

namespace Glance.Cluster.Tests;

/// <summary>
/// The documented direct client (samples/DirectClient): another Orleans service that joins the
/// cluster as a client and calls the public grain interfaces; the grains' rules hold for it.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class DirectClientTests(ClusterFixture fixture)
{
    [Fact]
    public async Task The_sample_client_creates_lists_reads_and_is_refused_another_projects_private_image()
    {
        var (exitCode, output) = await DirectClient.RunAsync(fixture.Cluster, DirectClient.ClusterCertificate(fixture.Cluster), TimeSpan.FromMinutes(2));

        Assert.True(exitCode == 0, output);
        Assert.Contains("ok - created private image", output);
        Assert.Contains("ok - a member of another project gets not found", output);
        Assert.Contains("ok - a member of another project cannot delete it (not found)", output);
        Assert.Contains("ok - listed", output);
        Assert.DoesNotContain("not ok", output);
    }
}

/// <summary>
/// The shared cluster, with mutual TLS (<c>cluster.sh up</c>, by default: its own CA, every silo and API node
/// presenting a certificate it signed): the API works through it, the direct client with the
/// cluster's certificate works, and a client without one (no TLS, TLS without a certificate, a
/// certificate of another CA, or one the cluster's CA issued for servers only) cannot call any grain.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class TlsClusterTests(ClusterFixture fixture)
{
    private readonly LocalCluster _cluster = fixture.Cluster;

    [Fact]
    public async Task Only_holders_of_the_clusters_certificate_can_call_the_grains()
    {
        Assert.NotNull(_cluster.TlsDirectory);
        using var api = new ImagesHttp(_cluster.ApiNodes[1]);
        var (status, id, body) = await api.CreateAsync("through-tls");
        Assert.True(status == HttpStatusCode.Created, body);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync(id!.Value)).Status);

        var tls = _cluster.TlsDirectory!;
        var (withExit, withOutput) = await DirectClient.RunAsync(_cluster,
            DirectClient.ClusterCertificate(_cluster),
            TimeSpan.FromMinutes(2));
        Assert.True(withExit == 0, withOutput);
        Assert.DoesNotContain("not ok", withOutput);

        // Refused, each trusting the cluster's CA for the silos' certificates (so only the silos'
        // check of the client can refuse): plain TCP to a TLS gateway; TLS with no certificate; TLS
        // with a certificate another CA signed. The client keeps trying until it is stopped: no
        // grain call is ever made.
        using var stranger = new TempDirectory();
        var (strangerCert, strangerKey) = ForeignCertificate.Write(stranger.Path);
        string[][] refused =
        [
            [],
            ["--CaFile", Path.Combine(tls, "ca.pem")],
            ["--CertificateFile", strangerCert, "--KeyFile", strangerKey, "--CaFile", Path.Combine(tls, "ca.pem")],
        ];
        foreach (var arguments in refused)
        {
            var (exit, output) = await DirectClient.RunAsync(_cluster, arguments, TimeSpan.FromSeconds(15));
            Assert.True(exit != 0, $"{string.Join(' ', arguments)}:\n{output}");
            Assert.DoesNotContain("ok - created", output);
        }

        // A certificate the cluster's own CA issued for servers only (extended key usage
        // serverAuth) is not a client's: the gateway ends the handshake. The node certificate
        // (both usages) on the same raw connection is kept.
        var serverOnly = ClusterCaCertificate.Issue(tls, "1.3.6.1.5.5.7.3.1");
        using var node = ClusterCaCertificate.Load(Path.Combine(tls, "node.pem"), Path.Combine(tls, "node.key"));
        var (kept, how) = await ClusterCaCertificate.GatewayKeepsAsync(_cluster.GatewayPort(1), node);
        Assert.True(kept, "the gateway refused the node certificate: " + how);
        (kept, how) = await ClusterCaCertificate.GatewayKeepsAsync(_cluster.GatewayPort(1), serverOnly);
        Assert.False(kept, "the gateway took a certificate not issued for clients: " + how);
        serverOnly.Dispose();
    }
}

/// <summary>Certificates of the cluster's CA (its key is in cluster.sh's tls directory) and raw TLS connections to a gateway.</summary>
internal static class ClusterCaCertificate
{
    public static System.Security.Cryptography.X509Certificates.X509Certificate2 Load(string certificate, string key)
    {
        using var pem = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(certificate, key);
        return System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(pem.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12), null);
    }

    /// <summary>A certificate the cluster's CA signs, with only the extended key usage <paramref name="usage"/>.</summary>
    public static System.Security.Cryptography.X509Certificates.X509Certificate2 Issue(string tlsDirectory, string usage)
    {
        using var ca = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(Path.Combine(tlsDirectory, "ca.pem"), Path.Combine(tlsDirectory, "ca.key"));
        using var key = System.Security.Cryptography.RSA.Create(2048);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=glance-node", key,
            System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension([new System.Security.Cryptography.Oid(usage)], false));
        using var leaf = request.Create(ca, ca.NotBefore, ca.NotAfter, System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        using var withKey = System.Security.Cryptography.X509Certificates.RSACertificateExtensions.CopyWithPrivateKey(leaf, key);
        return System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(withKey.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12), null);
    }

    /// <summary>
    /// Whether the gateway on <paramref name="port"/> keeps a TLS connection that presents
    /// <paramref name="certificate"/> (it answers, or waits for Orleans' preamble) or ends it
    /// (with TLS 1.3 a refused client certificate shows on the first read), and how.
    /// </summary>
    public static async Task<(bool Kept, string How)> GatewayKeepsAsync(int port, System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var tls = new System.Net.Security.SslStream(tcp.GetStream());
        try
        {
            await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
            {
                TargetHost = "127.0.0.1",
                ClientCertificates = [certificate],
                ApplicationProtocols = [new System.Net.Security.SslApplicationProtocol("Orleans1")],
                // Only the gateway's check of this end is under test.
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            });
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            var read = await tls.ReadAsync(new byte[1], wait.Token);
            return (read > 0, $"the first read gave {read} bytes");
        }
        catch (OperationCanceledException)
        {
            return (true, "open, waiting for the preamble");
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
        {
            return (false, e.Message);
        }
    }
}

/// <summary>A certificate of a CA the cluster does not know (made here, with its own key).</summary>
internal static class ForeignCertificate
{
    public static (string Certificate, string Key) Write(string directory)
    {
        using var caKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var caRequest = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=not the cluster's CA", caKey, System.Security.Cryptography.HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=127.0.0.1", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension(
            [new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1"), new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2")], false));
        using var leaf = request.Create(ca, ca.NotBefore, ca.NotAfter, [1, 2, 3, 4]);
        var certificate = Path.Combine(directory, "stranger.pem");
        var privateKey = Path.Combine(directory, "stranger.key");
        File.WriteAllText(certificate, leaf.ExportCertificatePem());
        File.WriteAllText(privateKey, key.ExportPkcs8PrivateKeyPem());
        return (certificate, privateKey);
    }
}

/// <summary>Runs the built sample against a cluster.</summary>
internal static class DirectClient
{
    /// <summary>The sample's arguments for the node certificate <c>cluster.sh up</c> made (every cluster of the tests has mutual TLS unless made plain).</summary>
    public static IReadOnlyList<string> ClusterCertificate(LocalCluster cluster)
    {
        var tls = cluster.TlsDirectory ?? throw new InvalidOperationException("the cluster runs without TLS");
        return ["--CertificateFile", Path.Combine(tls, "node.pem"), "--KeyFile", Path.Combine(tls, "node.key"), "--CaFile", Path.Combine(tls, "ca.pem")];
    }

    public static async Task<(int ExitCode, string Output)> RunAsync(LocalCluster cluster, IReadOnlyList<string> tlsArguments, TimeSpan timeout)
    {
        var dll = Path.Combine(cluster.Repository, "samples", "DirectClient", "bin", LocalCluster.Configuration, "net10.0", "Glance.DirectClient.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var arguments = new List<string> { dll, "--ConnectionString", cluster.ConnectionString, "--ClusterId", cluster.ClusterId };
        arguments.AddRange(tlsArguments);
        arguments.ForEach(start.ArgumentList.Add);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout}\n{await stdout}{await stderr}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}

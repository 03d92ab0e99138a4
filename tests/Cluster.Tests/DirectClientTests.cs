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
        var (exitCode, output) = await DirectClient.RunAsync(fixture.Cluster, [], TimeSpan.FromMinutes(2));

        Assert.True(exitCode == 0, output);
        Assert.Contains("ok - created private image", output);
        Assert.Contains("ok - a member of another project gets not found", output);
        Assert.Contains("ok - a member of another project cannot delete it (not found)", output);
        Assert.Contains("ok - listed", output);
        Assert.DoesNotContain("not ok", output);
    }
}

/// <summary>
/// A cluster with mutual TLS (<c>cluster.sh up --tls</c>: its own CA, every silo and API node
/// presenting a certificate it signed): the API works through it, the direct client with the
/// cluster's certificate works, and a client without one (no TLS, TLS without a certificate, or a
/// certificate of another CA) cannot call any grain.
/// </summary>
public sealed class TlsClusterTests : IAsyncLifetime
{
    private readonly LocalCluster _cluster = new();

    public Task InitializeAsync() => _cluster.UpAsync(silos: 2, apis: 1, tls: true);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

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
            ["--CertificateFile", Path.Combine(tls, "node.pem"), "--KeyFile", Path.Combine(tls, "node.key"), "--CaFile", Path.Combine(tls, "ca.pem")],
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
        using var leaf = request.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), [1, 2, 3, 4]);
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

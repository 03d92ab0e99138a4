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
        var (exitCode, output) = await DirectClient.RunAsync(fixture.Cluster, withCertificate: false, TimeSpan.FromMinutes(2));

        Assert.True(exitCode == 0, output);
        Assert.Contains("ok - a member of another project gets not found", output);
        Assert.Contains("ok - listed", output);
        Assert.DoesNotContain("not ok", output);
    }
}

/// <summary>
/// A cluster with mutual TLS (<c>cluster.sh up --tls</c>: its own CA, every silo and API node
/// presenting a certificate it signed): the API works through it, the direct client with the
/// cluster's certificate works, and a client without one cannot call any grain.
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

        var (withExit, withOutput) = await DirectClient.RunAsync(_cluster, withCertificate: true, TimeSpan.FromMinutes(2));
        Assert.True(withExit == 0, withOutput);
        Assert.DoesNotContain("not ok", withOutput);

        // Without the certificate the TLS handshake fails at every gateway (the client keeps trying
        // until it is stopped, or gives up): no grain call is ever made.
        var (withoutExit, withoutOutput) = await DirectClient.RunAsync(_cluster, withCertificate: false, TimeSpan.FromSeconds(30));
        Assert.True(withoutExit != 0, withoutOutput);
        Assert.DoesNotContain("ok - created", withoutOutput);
    }
}

/// <summary>Runs the built sample against a cluster.</summary>
internal static class DirectClient
{
    public static async Task<(int ExitCode, string Output)> RunAsync(LocalCluster cluster, bool withCertificate, TimeSpan timeout)
    {
        var dll = Path.Combine(cluster.Repository, "samples", "DirectClient", "bin", LocalCluster.Configuration, "net10.0", "Glance.DirectClient.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var arguments = new List<string> { dll, "--ConnectionString", cluster.ConnectionString, "--ClusterId", cluster.ClusterId };
        if (withCertificate)
        {
            var tls = cluster.TlsDirectory!;
            arguments.AddRange(["--CertificateFile", Path.Combine(tls, "node.pem"), "--KeyFile", Path.Combine(tls, "node.key"), "--CaFile", Path.Combine(tls, "ca.pem")]);
        }
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

using System.Net;
using Glance.Cluster.Tests.Support;

namespace Glance.Cluster.Tests;

/// <summary>
/// Nothing assumes one host: <c>cluster.sh up --netns</c> puts each silo and API node in a network
/// namespace of its own, with its own address on a bridge the script makes, and the cluster works
/// across them (membership, grain calls, bytes through an API node, a silo lost). Needs root, as
/// the script says; it fails (never skips) without it.
/// </summary>
public sealed class NetnsClusterTests : IAsyncLifetime
{
    private readonly LocalCluster _cluster = new();

    public Task InitializeAsync() => _cluster.UpAsync(silos: 2, apis: 1, netns: true);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Silos_and_an_api_node_in_their_own_namespaces_form_one_cluster()
    {
        var node = _cluster.ApiNodes[1];
        Assert.StartsWith("10.77.0.", node.Host, StringComparison.Ordinal);
        var status = await _cluster.StatusAsync();
        Assert.Equal(2, status.Split('\n').Count(l => l.StartsWith("10.77.0.", StringComparison.Ordinal) && l.Contains(" Active ", StringComparison.Ordinal)));

        using var api = new ImagesHttp(node);
        var (created, id, body) = await api.CreateAsync("across-namespaces");
        Assert.True(created == HttpStatusCode.Created, body);
        var data = System.Security.Cryptography.RandomNumberGenerator.GetBytes(1 << 20);
        Assert.Equal(HttpStatusCode.NoContent, await api.UploadAsync(id!.Value, data));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(data)), (await api.DownloadMd5Async(id.Value)).Md5);

        // The cluster survives losing a silo across namespaces too.
        await _cluster.NodeAsync("kill", "silo", 1);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        HttpStatusCode last;
        do
        {
            await Task.Delay(1000);
            last = (await api.GetAsync(id.Value)).Status;
        }
        while (last != HttpStatusCode.OK && DateTime.UtcNow < deadline);
        Assert.Equal(HttpStatusCode.OK, last);
        Assert.Contains(id.Value, await api.ListAllAsync());
    }
}

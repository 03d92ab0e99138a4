using System.Net;
using System.Text.Json.Nodes;
using Glance.Cluster.Tests.Support;

namespace Glance.Cluster.Tests;

/// <summary>
/// The extensions in the azure profile, on real processes: both API nodes list the same ones;
/// server templates (their index in an Azure Table, their grains on any silo) are created on one
/// node and listed and rendered on the other; the shipped examples exist once for the cluster;
/// format inspection refuses a qcow2-declared upload of plain bytes whichever node streams it.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ExtensionsClusterTests(ClusterFixture fixture) : IDisposable
{
    private readonly List<ImagesHttp> _nodes = [.. fixture.Cluster.ApiNodes.OrderBy(n => n.Key).Select(n => new ImagesHttp(n.Value))];

    public void Dispose() => _nodes.ForEach(n => n.Dispose());

    [Fact]
    public async Task Templates_are_listed_and_rendered_across_nodes_and_rules_hold_on_every_node()
    {
        var aliases = new List<string>();
        foreach (var node in _nodes)
        {
            var (status, body) = await node.GetTextAsync("/v2/extensions");
            Assert.Equal(HttpStatusCode.OK, status);
            aliases.Add(string.Join(",", JsonNode.Parse(body)!["extensions"]!.AsArray().Select(e => e!["alias"]!.GetValue<string>()).Order()));
        }
        Assert.Single(aliases.Distinct());
        Assert.Contains("server-templates", aliases[0]);
        Assert.Contains("format-inspection", aliases[0]);

        // An active image for the template to name.
        var (created, imageId, createBody) = await _nodes[0].CreateAsync("template-image");
        Assert.True(created == HttpStatusCode.Created, createBody);
        Assert.Equal(HttpStatusCode.NoContent, await _nodes[0].UploadAsync(imageId!.Value, new byte[4096]));

        var (posted, template) = await _nodes[0].PostJsonAsync("/v2/templates", new
        {
            name = "across-nodes",
            version = new
            {
                image = new { id = imageId.Value },
                parameters = new { greeting = new { type = "string", @default = "hello" } },
                configuration = new { format = "cloud-config", template = "#cloud-config\nwrite_files:\n  - path: /etc/greeting\n    content: {{ parameters.greeting }}\n" },
            },
        });
        Assert.True(posted == HttpStatusCode.Created, template);
        var id = JsonNode.Parse(template)!["id"]!.GetValue<string>();

        var (listed, list) = await _nodes[1].GetTextAsync("/v2/templates?limit=100");
        Assert.Equal(HttpStatusCode.OK, listed);
        var names = JsonNode.Parse(list)!["templates"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()).ToList();
        Assert.Contains("across-nodes", names);
        // The shipped examples, once for the whole cluster.
        foreach (var example in new[] { "wordpress-mariadb", "wireguard-vpn", "nftables-firewall" })
        {
            Assert.Single(names, n => n == example);
        }

        var (rendered, render) = await _nodes[1].PostJsonAsync($"/v2/templates/{id}/render", new { version = "$latest", parameters = new { greeting = "hi there" } });
        Assert.True(rendered == HttpStatusCode.OK, render);
        Assert.Contains("hi there", JsonNode.Parse(render)!["user_data"]!.GetValue<string>());
        Assert.Equal(imageId.Value.ToString(), JsonNode.Parse(render)!["image_id"]!.GetValue<string>());

        // Format inspection is a silo-side rule: plain bytes declared qcow2 are refused through either node.
        foreach (var node in _nodes)
        {
            var (status, qcow2, body) = await node.CreateAsync("not-qcow2");
            Assert.True(status == HttpStatusCode.Created, body);
            Assert.Equal(HttpStatusCode.OK, await node.ReplaceAsync(qcow2!.Value, "disk_format", "qcow2"));
            Assert.Equal(HttpStatusCode.BadRequest, await node.UploadAsync(qcow2.Value, new byte[4096]));
            Assert.Equal("queued", (await node.GetAsync(qcow2.Value)).Image!["status"]!.GetValue<string>());
        }
    }
    [Fact]
    public async Task The_api_node_that_deletes_an_image_drops_its_cached_copy_at_once()
    {
        var node = _nodes[0];
        var (created, id, body) = await node.CreateAsync("cached-then-deleted");
        Assert.True(created == HttpStatusCode.Created, body);
        var bytes = new byte[64 * 1024];
        Random.Shared.NextBytes(bytes);
        Assert.Equal(HttpStatusCode.NoContent, await node.UploadAsync(id!.Value, bytes));
        Assert.Equal(HttpStatusCode.OK, (await node.DownloadMd5Async(id.Value)).Status);

        // The download fills this node's cache (in the background of the stream: wait for it).
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!await CachedAsync(node, id.Value))
        {
            Assert.True(DateTime.UtcNow < deadline, "the download did not fill the node's cache within 15 s");
            await Task.Delay(200);
        }
        Assert.Equal(HttpStatusCode.NoContent, await node.DeleteAsync(id.Value));
        // At once, not at the next sweep (a minute): the node's client sees its own delete.
        Assert.False(await CachedAsync(node, id.Value), "the deleted image is still in the cache of the node that deleted it");
    }

    private static async Task<bool> CachedAsync(ImagesHttp node, Guid id)
    {
        var (status, body) = await node.GetTextAsync("/v2/cache");
        Assert.True(status == HttpStatusCode.OK, body);
        return JsonNode.Parse(body)!["cached_images"]!.AsArray().Any(e => e!["image_id"]!.GetValue<string>() == id.ToString());
    }
}

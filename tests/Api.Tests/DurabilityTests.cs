using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>
/// Restart: images, properties, tags and members written through the API survive stopping
/// the service and starting a new one on the same data directory.
/// </summary>
public sealed class DurabilityTests
{
    [Fact]
    public async Task Images_members_and_tags_survive_a_restart_unchanged()
    {
        using var directory = new TempDirectory();
        var suite = GlanceClient.Unique("restart");
        string sharedId, privateId, deletedId;
        string sharedBefore, privateBefore, listBefore, membersBefore, memberListBefore, p2ListBefore;

        await using (var first = new GlanceFactory(directory.Path).Start())
        {
            var api = first.Client;
            sharedId = Expect.Str(await api.CreateImageAsync(Persona.P1, new
            {
                suite, name = "kept", tags = new[] { "x", "y" }, hw_disk_bus = "scsi", min_ram = 256,
                disk_format = "qcow2", container_format = "bare",
            }), "id");
            privateId = Expect.Str(await api.CreateImageAsync(Persona.P1, new { suite, name = "private", visibility = "private", @protected = true }), "id");
            deletedId = Expect.Str(await api.CreateImageAsync(Persona.P1, new { suite, name = "gone" }), "id");
            Expect.Status(await api.PutAsync($"/v2/images/{sharedId}/tags/z", Persona.P1), 204);
            Expect.Status(await api.DeleteAsync($"/v2/images/{sharedId}/tags/x", Persona.P1), 204);
            Expect.Status(await api.PatchAsync($"/v2/images/{sharedId}", Persona.P1, """[{"op":"add","path":"/os_distro","value":"cirros"}]"""), 200);
            Expect.Status(await api.PostJsonAsync($"/v2/images/{sharedId}/members", Persona.P1, """{"member":"p2"}"""), 200);
            Expect.Status(await api.PostJsonAsync($"/v2/images/{sharedId}/members", Persona.P1, """{"member":"p3"}"""), 200);
            Expect.Status(await api.PutJsonAsync($"/v2/images/{sharedId}/members/p2", Persona.P2, """{"status":"accepted"}"""), 200);
            Expect.Status(await api.DeleteAsync($"/v2/images/{deletedId}", Persona.P1), 204);

            sharedBefore = Expect.Status(await api.GetAsync($"/v2/images/{sharedId}", Persona.P1), 200).Text;
            privateBefore = Expect.Status(await api.GetAsync($"/v2/images/{privateId}", Persona.P1), 200).Text;
            listBefore = Expect.Status(await api.GetAsync($"/v2/images?suite={suite}", Persona.P1), 200).Text;
            membersBefore = Expect.Status(await api.GetAsync($"/v2/images/{sharedId}/members", Persona.P1), 200).Text;
            memberListBefore = Expect.Status(await api.GetAsync($"/v2/images/{sharedId}/members/p2", Persona.P2), 200).Text;
            p2ListBefore = Expect.Status(await api.GetAsync($"/v2/images?suite={suite}", Persona.P2), 200).Text;
            Assert.Equal([sharedId], GlanceClient.Ids(Expect.Status(await api.GetAsync($"/v2/images?suite={suite}", Persona.P2), 200).Json));
        }

        Assert.True(File.Exists(Path.Combine(directory.Path, "glance.db")), "the service did not write to Glance:DataDirectory");

        await using (var second = new GlanceFactory(directory.Path).Start())
        {
            var api = second.Client;
            Assert.Equal(sharedBefore, Expect.Status(await api.GetAsync($"/v2/images/{sharedId}", Persona.P1), 200).Text);
            Assert.Equal(privateBefore, Expect.Status(await api.GetAsync($"/v2/images/{privateId}", Persona.P1), 200).Text);
            Assert.Equal(listBefore, Expect.Status(await api.GetAsync($"/v2/images?suite={suite}", Persona.P1), 200).Text);
            Assert.Equal(membersBefore, Expect.Status(await api.GetAsync($"/v2/images/{sharedId}/members", Persona.P1), 200).Text);
            Assert.Equal(memberListBefore, Expect.Status(await api.GetAsync($"/v2/images/{sharedId}/members/p2", Persona.P2), 200).Text);
            Assert.Equal(p2ListBefore, Expect.Status(await api.GetAsync($"/v2/images?suite={suite}", Persona.P2), 200).Text);

            // The rules still hold after the restart.
            Expect.Error(await api.GetAsync($"/v2/images/{deletedId}", Persona.P1), 404);
            Expect.Error(await api.PostJsonAsync("/v2/images", Persona.P1, GlanceClient.Json(new { id = deletedId })), 409);
            Expect.Error(await api.DeleteAsync($"/v2/images/{privateId}", Persona.P1), 403);
            Expect.Error(await api.GetAsync($"/v2/images/{privateId}", Persona.P2), 404);
            Expect.Error(await api.PostJsonAsync($"/v2/images/{sharedId}/members", Persona.P1, """{"member":"p2"}"""), 409);
        }
    }
}
